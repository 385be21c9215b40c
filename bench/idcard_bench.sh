#!/bin/bash
# bench/idcard_bench.sh -- throughput of juhe_idcard_valid (C) against the
# same rules written in PL/pgSQL, over N generated IDs (default 1,000,000;
# a mix of valid and invalid), in one run: prints both times and the ratio.
#
# Runs against the cluster given by the usual libpq variables (PGHOST,
# PGPORT, PGUSER) with juheid installed; creates and drops a scratch
# database ($BENCH_DB, default juheid_bench).  Example:
#   PGHOST=/tmp/sock PGPORT=5432 PGUSER=postgres bench/idcard_bench.sh
# Without PGHOST it starts the throw-away cluster of test/harness.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PGHOST:-}" ]; then
	. test/harness.sh
	trap harness_stop EXIT
	harness_start >/dev/null
fi
N=${N:-1000000}
DB=${BENCH_DB:-juheid_bench}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"${PSQL[@]}" -d "$DB" -c "SELECT 1" >/dev/null
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION juheid"
"${PSQL[@]}" -d "$DB" -f bench/idcard_valid_plpgsql.sql
"${PSQL[@]}" -d "$DB" -v n="$N" -f bench/idcard_bench.sql
"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB"
