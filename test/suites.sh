#!/bin/bash
# test/suites.sh [PG_CONFIG] -- the pg_regress suites (sql/, expected/, in
# the order of test/schedule) against the juheid installed into the
# PostgreSQL that PG_CONFIG names (default: pg_config on PATH).  The suites
# need a cluster with juheid preloaded, the juhe_test.* settings and the
# bundled mock: test/harness.sh starts a throw-away one on a private port
# and socket (as the postgres user when run as root) and stops it by PID;
# this runs the suites there once per JUHEID_GATEWAYS entry (default
# "on off").  Nothing is built or installed here:
#
#   make && make install && bash test/suites.sh
#
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
PGC=${1:-$(command -v pg_config)}
[ -x "$PGC" ] || { echo "no pg_config (give its path)"; echo "0 passed, 1 failed"; exit 1; }
PGBIN=$($PGC --bindir)
. test/lib.sh
. test/harness.sh
trap harness_stop EXIT

LOGDIR=$(mktemp -d /tmp/juheid-suites.XXXXXX)
harness_suites_gateways "$($PGC --version)" "$PGC" "$LOGDIR/regress"
echo "logs: $LOGDIR"
summary
