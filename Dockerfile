# syntax=docker/dockerfile:1.7
# Citizen Vault: multi-stage build from the committed lock file, non-root runtime, healthcheck.
# Production configuration comes from the environment (see README: Configuration); VAULT_ENV=production (the
# default here) refuses every development default at start. For a first look with the embedded defaults
# (development mode, SQLite, files, the built-in identity provider):  docker run -p 8000:8000 IMAGE embedded
# (or VAULT_EMBEDDED=1). compose.yaml runs it with PostgreSQL, MinIO and Keycloak.

ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libffi-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# dependencies first, exactly as locked (hashes checked), so a source change does not rebuild them
COPY requirements.lock ./
RUN python -m venv /opt/vault \
 && /opt/vault/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY vault ./vault
COPY auth ./auth
COPY storage ./storage
COPY signing ./signing
RUN /opt/vault/bin/pip install --no-deps . \
 && /opt/vault/bin/pip check

FROM ${PYTHON_IMAGE} AS runtime
# libsofthsm2 is not installed: mount your HSM vendor's PKCS#11 module and point VAULT_KEY_PROVIDER /
# VAULT_SIGNING_PKCS11 at it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vault \
 && useradd --system --uid 10001 --gid vault --home-dir /var/lib/vault --create-home --shell /usr/sbin/nologin vault \
 && chmod 0700 /var/lib/vault
COPY --from=build /opt/vault /opt/vault
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/vault-entrypoint
ENV PATH=/opt/vault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VAULT_ENV=production \
    VAULT_DATA_DIR=/var/lib/vault
USER 10001:10001
WORKDIR /var/lib/vault
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
# no CMD: the entrypoint serves by default, `embedded` serves the embedded defaults, anything else runs as given
# (`vault db upgrade`, `vault keys rotate`, ...)
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/vault-entrypoint"]
