"""Build object stores and key providers from configuration URLs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from storage._fs import FilesystemStore
from storage._keyring import KeyProvider, LocalKeyring
from storage._s3 import DEFAULT_PARALLEL_PARTS, DEFAULT_PART_SIZE, S3Store
from storage._store import ObjectStore

__all__ = ("key_provider_from_url", "store_from_url")

_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _query(url: str, allowed: set[str]) -> dict[str, str]:
    params = {name: values[-1] for name, values in parse_qs(urlsplit(url).query, strict_parsing=False).items()}
    unknown = set(params) - allowed
    if unknown:
        raise ValueError(f"unknown URL parameter(s): {', '.join(sorted(unknown))}")
    return params


def _bool(params: dict[str, str], name: str, default: str) -> bool:
    value = params.get(name, default).lower()
    if value not in _BOOLS:
        raise ValueError(f"{name} must be true or false")
    return _BOOLS[value]


def _s3_store(url: str) -> S3Store:
    parts = urlsplit(url)
    bucket = parts.path.strip("/")
    if not (parts.hostname and parts.username and parts.password is not None and bucket) or "/" in bucket:
        raise ValueError("S3 URL must look like s3://ACCESS:SECRET@host:port/bucket")
    params = _query(
        url,
        {
            "secure",
            "region",
            "part_size",
            "parallel_parts",
            "sign_payload",
            "connect_timeout",
            "read_timeout",
            "retries",
        },
    )
    secure = _bool(params, "secure", "false")
    sign_payload = _bool(params, "sign_payload", "auto") if params.get("sign_payload", "auto") != "auto" else None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return S3Store(
        f"{host}:{parts.port}" if parts.port else host,
        unquote(parts.username),
        unquote(parts.password),
        bucket,
        secure=secure,
        region=params.get("region"),
        part_size=int(params.get("part_size", DEFAULT_PART_SIZE)),
        parallel_parts=int(params.get("parallel_parts", DEFAULT_PARALLEL_PARTS)),
        sign_payload=sign_payload,
        connect_timeout=float(params.get("connect_timeout", 3)),
        read_timeout=float(params.get("read_timeout", 30)),
        retries=int(params.get("retries", 2)),
    )


def store_from_url(url: str) -> ObjectStore:
    """Create an object store from a URL.

    Args:
        url: ``file:///absolute/path`` or
            ``s3://ACCESS:SECRET@host:port/bucket?secure=false&region=us-east-1`` (percent-encode the secret;
            also accepts ``part_size`` (bytes, default 8 MiB), ``parallel_parts`` (default 3),
            ``sign_payload`` (``auto``: hash object bodies into the signature only over plain HTTP to a
            non-loopback host), ``connect_timeout``, ``read_timeout`` and ``retries``).

    Returns:
        A :class:`FilesystemStore` or an :class:`S3Store`. Nothing is contacted until it is used.

    Raises:
        ValueError: If the URL is malformed or its scheme unknown.
    """
    scheme = urlsplit(url).scheme
    if scheme == "file":
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError("file URL must be file:///absolute/path")
        return FilesystemStore(Path(path))
    if scheme == "s3":
        return _s3_store(url)
    raise ValueError("object store URL must start with file:// or s3://")


def _local_provider(url: str) -> KeyProvider:
    path = url.removeprefix("local:").split("?", 1)[0]
    if not path.startswith("/"):
        raise ValueError("local key provider URL must be local:/absolute/path/keyring.json")
    create = _query(url, {"create"}).get("create", "false").lower()
    if create not in _BOOLS:
        raise ValueError("create must be true or false")
    return LocalKeyring.open(path, create=_BOOLS[create])


def _pkcs11_provider(url: str) -> KeyProvider:
    from storage._pkcs11 import Pkcs11KeyProvider

    return Pkcs11KeyProvider.from_url(url)


_PROVIDERS: dict[str, Callable[[str], KeyProvider]] = {"local": _local_provider, "pkcs11": _pkcs11_provider}


def key_provider_from_url(url: str) -> KeyProvider:
    """Create a key provider from a URL.

    Args:
        url: ``local:/path/keyring.json`` (add ``?create=true`` to create a missing keyring) or
            ``pkcs11:<module path>?token=LABEL&pin-env=VAR&label=KEYLABEL``.

    Returns:
        The key provider.

    Raises:
        ValueError: If the URL is malformed or its scheme unknown.
        KeyProviderUnavailable: If the keyring or token cannot be opened.
    """
    factory = _PROVIDERS.get(url.split(":", 1)[0])
    if factory is None:
        raise ValueError("key provider URL must start with local: or pkcs11:")
    return factory(url)
