"""The citizen vault service: composes `auth`, `storage` and `signing` behind a Litestar HTTP API."""
