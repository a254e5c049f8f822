#!/bin/bash
# Runs once, on the first start of an empty PostgreSQL volume (docker-entrypoint-initdb.d).
# One database per service, each owned by its own role; no role can connect to another service's database.
set -euo pipefail
: "${SERVICE_DB_PASSWORD:?SERVICE_DB_PASSWORD must be set}"
for db in ${NEWCITIZEN_DATABASES:-housing insurance events notify stats}; do
  echo "creating role and database: $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v db="$db" -v password="$SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"db" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"db";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
