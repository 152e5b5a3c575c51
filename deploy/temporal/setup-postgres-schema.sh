#!/bin/sh
# Creates or upgrades Temporal's schema in PostgreSQL with the admin-tools image that matches the
# server version. Safe to run on every `docker compose up`: setup-schema keeps an existing version
# and update-schema applies only the versions still missing.
set -eu
. "$(dirname "$0")/retry-until.sh"

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
port="${DB_PORT:-5432}"
schema_root=/etc/temporal/schema/postgresql/v12

retry_until 60 1 "PostgreSQL at $POSTGRES_SEEDS:$port" nc -z -w 5 "$POSTGRES_SEEDS" "$port"

for database in temporal temporal_visibility; do
  case "$database" in
    temporal) versioned="$schema_root/temporal/versioned" ;;
    *) versioned="$schema_root/visibility/versioned" ;;
  esac
  echo "schema of $database: setting up and updating from $versioned"
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$database" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$database" update-schema -d "$versioned"
done
echo 'Temporal schema is up to date'
