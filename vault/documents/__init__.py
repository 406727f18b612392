"""Documents: upload, versions, download, erasure."""
