"""What every domain of the service shares: errors, the caller, the database, clocks and paging."""
