"""Accounts: the opaque owner id behind every (issuer, subject), and each owner's subject keys."""
