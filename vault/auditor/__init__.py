"""The auditor's portal pages over the audit log (a package of its own: the portal shell imports `audit`, so
the pages cannot live inside it without a cycle)."""
