#!/bin/bash
# test/tap.sh PG_CONFIG -- run the TAP tests (test/t/*.pl: whole-cluster
# behaviour: cancel, terminate, crashes, server log, memory) against the
# PostgreSQL that PG_CONFIG names, with its TAP framework
# (PostgreSQL::Test::Cluster; Debian: postgresql-server-dev-NN and
# libipc-run-perl).  juheid must already be installed into that PostgreSQL.
#
# PostgreSQL refuses to run as root, so as root the tests run as the
# postgres user, from a private copy of the files they need.  Every server
# a test starts listens on a private socket (the mock: 127.0.0.1) and is
# stopped by the test.  Last line: "N passed, N failed".
# TAP_TESTS="test/t/006_accounting.pl" runs only those scripts.
set -uo pipefail
cd "$(dirname "$0")/.."
PGC=${1:?usage: test/tap.sh PG_CONFIG}
BINDIR=$($PGC --bindir)
PGXS_DIR=$(dirname "$($PGC --pgxs)")/../..
PERLDIR=$PGXS_DIR/src/test/perl
if [ ! -e "$PERLDIR/PostgreSQL/Test/Cluster.pm" ]; then
	echo "no PostgreSQL::Test::Cluster under $PERLDIR"
	echo "0 passed, 1 failed"
	exit 1
fi

WORK=$(mktemp -d /tmp/juheid-tap.XXXXXX)
trap '[ -n "${JUHEID_KEEP_TAP:-}" ] || rm -rf "$WORK"' EXIT
mkdir -p "$WORK/test/t" "$WORK/mock/keys" "$WORK/tmp"
cp test/t/*.pl test/t/*.pm "$WORK/test/t/"
cp mock/mock_juhe.py "$WORK/mock/"
cp -r test/released "$WORK/test/"
cp mock/keys/* "$WORK/mock/keys/"
# the examples that 015_pgbouncer.pl and 016_monitoring.pl run
mkdir -p "$WORK/examples"
cp -r examples/pgbouncer examples/monitoring "$WORK/examples/"
# test-only helpers (the Makefile's test-tools): a resolver that never
# answers for one host name, a disk that fills up on demand, and a writer
# of ledger records
{ make -s test-tools PG_CONFIG="$PGC" &&
	cp test/bin/hang_dns.so test/bin/fail_writes.so test/bin/ledger_gen "$WORK/"; } || {
	echo "0 passed, 1 failed"
	exit 1
}
chmod -R a+rX "$WORK"
as_pg=()
if [ "$(id -u)" = 0 ]; then
	chown -R postgres: "$WORK"
	as_pg=(runuser -u postgres --)
fi

# TESTDIR (15) and TESTDATADIR/TESTLOGDIR (16+) keep data and logs in $WORK
(cd "$WORK" && "${as_pg[@]}" env PATH="$BINDIR:$PATH" \
	PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
	TESTDIR="$WORK/tmp" TESTDATADIR="$WORK/tmp/data" TESTLOGDIR="$WORK/tmp/log" \
	JUHEID_HANG_DNS_SO="$WORK/hang_dns.so" JUHEID_FAIL_WRITES_SO="$WORK/fail_writes.so" \
	JUHEID_LEDGER_GEN="$WORK/ledger_gen" JUHEID_GATEWAY="${JUHEID_GATEWAY:-on}" \
	PG_TEST_NOCLEAN= \
	prove -v -I "$PERLDIR" -I test/t ${TAP_TESTS:-test/t/*.pl}) >"$WORK/prove.out" 2>&1
rc=$?
grep -E '^(ok|not ok) [0-9]+|^test/t/|^Result|^Files=|Dubious|Failed' "$WORK/prove.out"
if [ $rc -ne 0 ] || grep -qE '^not ok' "$WORK/prove.out"; then
	# the failing tests' server logs help more than anything else
	tail -n 200 "$WORK/prove.out"
	for f in "$WORK"/tmp/log/*.log "$WORK"/tmp/tmp_check/log/*.log "$WORK"/tmp/tmp_check/log/regress_log_*; do
		[ -e "$f" ] && { echo "== $f"; tail -n 60 "$f"; }
	done
fi
ok=$(grep -cE '^ok [0-9]+' "$WORK/prove.out")
bad=$(grep -cE '^not ok [0-9]+' "$WORK/prove.out")
# a script that died or planned wrong counts as one more failure
if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
	bad=1
fi
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]
