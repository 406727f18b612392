"""Sharing: grants, share links, agency requests, issuance into a citizen's vault, and the citizen's access log."""
