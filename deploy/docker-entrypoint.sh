#!/bin/sh
# The image's entrypoint (under tini). `embedded` (or VAULT_EMBEDDED=1) runs the embedded defaults: development
# mode, SQLite, the filesystem store, a local keyring and the built-in identity provider, all under
# VAULT_DATA_DIR, for a first look:  docker run -p 8000:8000 IMAGE embedded
# Anything else runs as given (default: `vault serve` in production mode, configured by VAULT_* variables).
set -eu
if [ "${1:-}" = "embedded" ] || { [ "${VAULT_EMBEDDED:-}" = "1" ] && [ "$#" -eq 0 ]; }; then
  [ "$#" -gt 0 ] && shift
  export VAULT_ENV=development
  # the development issuer and the URLs the banner prints: what a browser on the host reaches
  export VAULT_PUBLIC_URL="${VAULT_PUBLIC_URL:-http://127.0.0.1:8000}"
  exec vault serve --host 0.0.0.0 --port 8000 "$@"
fi
if [ "$#" -eq 0 ]; then
  set -- vault serve --host 0.0.0.0 --port 8000
fi
exec "$@"
