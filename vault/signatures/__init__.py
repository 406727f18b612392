"""Signing vault PDFs and verifying signatures: the service side of the `signing` library."""
