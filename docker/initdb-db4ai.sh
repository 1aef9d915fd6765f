#!/usr/bin/env bash
# CREATE EXTENSION db4ai in $POSTGRES_DB (and template1, so later CREATE DATABASE gets it too).
set -euo pipefail
for db in template1 "${POSTGRES_DB:-postgres}"; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" -c "CREATE EXTENSION IF NOT EXISTS db4ai"
done
