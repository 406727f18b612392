"""Driving the portal over HTTP without a browser: sign in through the development provider, read forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

__all__ = ("csrf_token", "heading", "sign_in", "without_host")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TRANSACTION = re.compile(r'name="transaction" value="([^"]+)"')
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def without_host(url: str) -> str:
    """The path and query of `url` (the test client answers every host)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client: httpx.Client, user: str, next_path: str = "/") -> httpx.Response:
    """Sign `user` in through `/login` and the development provider's page; returns the callback's answer."""
    start = client.get("/login", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 303, start.text
    page = client.get(without_host(start.headers["location"]))
    transaction = _TRANSACTION.search(page.text)
    assert transaction is not None, page.text
    choice = {"transaction": transaction[1], "username": user}
    picked = client.post("/dev-idp/authorize", data=choice, follow_redirects=False)
    assert picked.status_code == 303, picked.text
    return client.get(without_host(picked.headers["location"]), follow_redirects=False)


def csrf_token(page: httpx.Response) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(page.text)
    assert found is not None, page.text[:2000]
    return found[1]


def heading(page: httpx.Response) -> str:
    """The page's h1, as text."""
    found = _H1.search(page.text)
    assert found is not None, page.text[:2000]
    return re.sub(r"<[^>]+>|\s+", " ", found[1]).strip()
