"""Which provider URLs a production deployment may use: https, or plain http on the loopback interface only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ("is_loopback_host", "is_secure_url")


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine's loopback interface (`localhost`, 127.0.0.0/8, ::1).

    Args:
        host: A host name or IP literal as found in a URL (IPv6 without brackets).

    Returns:
        True for `localhost` (and names under `.localhost`, RFC 6761) and loopback addresses.
    """
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_secure_url(url: str) -> bool:
    """Whether a provider URL may be trusted in production: `https://`, or `http://` to the loopback interface.

    Plain http anywhere else lets anyone on the path swap the provider's keys and mint tokens for any user.

    Args:
        url: An issuer, discovery or JWKS URL.

    Returns:
        True for an https URL with a host, or an http URL whose host is loopback.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    scheme = parts.scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback_host(host))
