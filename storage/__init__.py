"""Encrypted document storage: key wrapping, key providers, the suite-1 object format, and object stores.

A library: it knows nothing of HTTP or of the vault service. Everything public is listed in ``__all__``;
every error it raises derives from :class:`StorageError` and carries a client-safe ``detail``.

Typical use (the format is specified in the design notes, CRYPTO.md)::

    store = store_from_url("s3://ACCESS:SECRET@127.0.0.1:8333/documents")
    provider = key_provider_from_url("local:/var/lib/vault/keyring.json")
    dek = generate_key()
    stored = await encrypt_to_store(store, key, dek, context, request_stream, max_bytes=limit)
    wrapped_dek = wrap_key(subject_key, dek, dek_context)
    ...
    async with contextlib.aclosing(decrypt_from_store(store, key, dek, context, size, start, end)) as body:
        async for piece in body:  # every piece was authenticated before it was released
            ...
"""

from storage._errors import (
    IntegrityError,
    KeyProviderUnavailable,
    ObjectNotFound,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
    TooLarge,
)
from storage._format import (
    CHUNK_SIZE,
    HEADER_SIZE,
    ObjectDecryptor,
    ObjectEncryptor,
    decrypt_object,
    encrypt_object,
    encrypted_size,
)
from storage._fs import FilesystemStore
from storage._keyring import KeyProvider, LocalKeyring
from storage._keywrap import canonical_context, generate_key, unwrap_key, wrap_key
from storage._pipeline import StoredObject, decrypt_from_store, encrypt_to_store
from storage._s3 import S3Store
from storage._store import PROBE_PREFIX, ObjectInfo, ObjectStore
from storage._urls import key_provider_from_url, store_from_url

__all__ = (
    "CHUNK_SIZE",
    "HEADER_SIZE",
    "PROBE_PREFIX",
    "FilesystemStore",
    "IntegrityError",
    "KeyProvider",
    "KeyProviderUnavailable",
    "LocalKeyring",
    "ObjectDecryptor",
    "ObjectEncryptor",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3Store",
    "StorageAccessDenied",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "TooLarge",
    "canonical_context",
    "decrypt_from_store",
    "decrypt_object",
    "encrypt_object",
    "encrypt_to_store",
    "encrypted_size",
    "generate_key",
    "key_provider_from_url",
    "store_from_url",
    "unwrap_key",
    "wrap_key",
)
