#!/usr/bin/env bash
# Installs db4ai into $POSTGRES_DB (and template1, so later CREATE DATABASE gets it too).
set -euo pipefail
for db in template1 "${POSTGRES_DB:-postgres}"; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" -f /usr/share/db4ai/sql/install.sql
done
