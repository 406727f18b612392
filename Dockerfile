# syntax=docker/dockerfile:1.7
# Citizen Vault: multi-stage build, non-root runtime, healthcheck.
# Production configuration comes from the environment (see README: Configuration); the image refuses nothing
# by itself, but VAULT_ENV=production (the default here) refuses every development default at start.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libffi-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY vault ./vault
COPY auth ./auth
COPY storage ./storage
COPY signing ./signing
RUN python -m venv /opt/vault \
 && /opt/vault/bin/pip install --upgrade pip \
 && /opt/vault/bin/pip install .

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# libsofthsm2 is not installed: mount your HSM vendor's PKCS#11 module and point VAULT_KEY_PROVIDER /
# VAULT_SIGNING_PKCS11 at it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vault \
 && useradd --system --uid 10001 --gid vault --home-dir /var/lib/vault --create-home --shell /usr/sbin/nologin vault
COPY --from=build /opt/vault /opt/vault
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
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["vault", "serve", "--host", "0.0.0.0", "--port", "8000"]
