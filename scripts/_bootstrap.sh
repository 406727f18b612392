# Shared set-up steps for scripts/serve and scripts/test. Sourced, not run.
# Every step is idempotent: a fresh Debian 12 machine with Python 3.11 and Node 20 gets what it lacks,
# a prepared one loses a second or two.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VAULT_VENV:-$ROOT/.venv}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

# ensure_apt PKG...: install the Debian packages that are missing.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv [EXTRAS]: a virtualenv in .venv with the project installed (editable), using uv for speed.
ensure_venv() {
  local extras="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      # Debian's own python3 ships venv support separately
      rm -rf "$VENV"
      ensure_apt python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  if [ ! -x "$VENV/bin/uv" ]; then
    "$VENV/bin/python" -m pip install -q uv
  fi
  local spec="$ROOT"
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  log "installing the project into $VENV"
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" -q -e "$spec"
}

# ensure_postgres: PostgreSQL answering on 127.0.0.1:5432 with trust auth for the current user.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  ensure_apt postgresql postgresql-client
  local ver; ver=$(ls /etc/postgresql | sort -n | tail -1)
  local hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q "citizen-vault" "$hba"; then
    log "configuring trust auth on loopback for the test database"
    as_root sed -i '1i # citizen-vault tests: trust on loopback\nhost all all 127.0.0.1/32 trust\nlocal all all trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL did not start"; return 1; }
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_roles where rolname='$(id -un)'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -c "create role \"$(id -un)\" superuser login" >/dev/null
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
}

# ensure_node_deps DIR: npm ci from the committed lockfile.
ensure_node_deps() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
}
