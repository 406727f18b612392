"""Test suite root: registers the real-service fixtures (each module starts one service once per session)."""

pytest_plugins = [
    "tests.services.postgres",
    "tests.services.seaweedfs",
    "tests.services.ceph",
    "tests.services.oidc_provider",
    "tests.services.softhsm",
    "tests.services.pki",
    "tests.services.nginx",
    "tests.services.devpki_http",
]
