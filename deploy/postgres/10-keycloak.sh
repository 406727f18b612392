#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (the image's /docker-entrypoint-initdb.d): a login role
# and a database for Keycloak beside the vault's. The password goes through a psql variable, never into SQL text.
set -eu
psql -v ON_ERROR_STOP=1 -v kc_password="$KEYCLOAK_DB_PASSWORD" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE keycloak LOGIN PASSWORD :'kc_password';
CREATE DATABASE keycloak OWNER keycloak;
SQL
