#!/bin/bash
# test/run-tests.sh -- install what is needed, then for each PostgreSQL
# version in PG_VERSIONS (default "15 18"): build juheid against it with
# -Werror, start a throw-away cluster of that version and the mock service,
# and run the pg_regress suites.  Then, once: C unit tests under ASan/UBSan,
# the fuzzers for a bounded time (test/unit), the packaging and release
# checks (test/release), and the mock's own self-test (mock/).
#
#   PG_VERSIONS="15 18" bash test/run-tests.sh     (the default)
#   PG_VERSIONS=15 bash test/run-tests.sh          only Debian's 15
#   PG_VERSIONS=18-cassert bash test/run-tests.sh  an assert-enabled 18
#
# First the check that the files of src/ form a stack (test/lint/
# check_stack.sh: nothing includes a header from a stage above its own).
# Then (as root) the Debian package: built with dpkg-buildpackage,
# installed with apt-get, tested with autopkgtest (test/package.sh), and
# the README's package commands on a clean Debian 12 made with debootstrap
# (test/clean-machine.sh); JUHEID_SKIP_PACKAGE=1 skips both.
# Per version, once with juhe.gateway = on and once off: the pg_regress
# suites (sql/, what one session sees) and the TAP tests (test/t/,
# whole-cluster behaviour, via test/tap.sh).
# 15 is Debian 12's package; every other entry (MAJOR or MAJOR-cassert) is
# built from Debian's source package by tools/pg-from-source.sh into
# $JUHEID_PG_CACHE/pgENTRY (default /var/cache/juheid as root,
# ~/.cache/juheid otherwise) the first time, and reused after that.
# Ends with one line "N passed, N failed" counting every version; exit
# status 0 only if none failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PG_VERSIONS=${PG_VERSIONS:-15 18}
if [ "$(id -u)" = 0 ]; then
	JUHEID_PG_CACHE=${JUHEID_PG_CACHE:-/var/cache/juheid}
else
	JUHEID_PG_CACHE=${JUHEID_PG_CACHE:-$HOME/.cache/juheid}
fi

bash test/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

. test/lib.sh

LOGDIR=$(mktemp -d /tmp/juheid-logs.XXXXXX)

# pg_config of a PG_VERSIONS entry, building it first if needed
pg_config_for() {
	local v=$1 major prefix flag=""
	if [ "$v" = 15 ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		echo /usr/lib/postgresql/15/bin/pg_config
		return 0
	fi
	major=${v%-cassert}
	[ "$major" != "$v" ] && flag=--cassert
	prefix=$JUHEID_PG_CACHE/pg$v
	mkdir -p "$JUHEID_PG_CACHE"
	bash tools/pg-from-source.sh "$major" "$prefix" $flag >"$LOGDIR/pg$v-build.log" 2>&1 || {
		tail -n 20 "$LOGDIR/pg$v-build.log" >&2
		return 1
	}
	echo "$prefix/bin/pg_config"
}

. test/harness.sh
trap harness_stop EXIT

# pg_regress and TAP against one version, with juhe.gateway = $2
run_version_mode() {
	local v=$1 gw=$2 tag="$1 gateway=$2"
	export JUHEID_GATEWAY=$gw
	harness_suites "$tag" "$PGC" "$LOGDIR/regress-$v-$gw"
	passed=$((passed + REG_OK))
	failed=$((failed + REG_FAIL))

	# whole-cluster behaviour: TAP tests, each starting its own cluster
	echo "  [$tag] TAP (test/t)"
	bash test/tap.sh "$PGC" >"$LOGDIR/tap-$v-$gw.log" 2>&1
	grep -E '^(ok|not ok) [0-9]+|^test/t/' "$LOGDIR/tap-$v-$gw.log" | sed "s/^/  [$tag] /"
	grep -qE '^not ok|[1-9][0-9]* failed$' "$LOGDIR/tap-$v-$gw.log" && tail -n 100 "$LOGDIR/tap-$v-$gw.log"
	count "$LOGDIR/tap-$v-$gw.log"
}

# the Debian package, built and installed as the README says, and Debian's
# autopkgtest against the installed files (test/package.sh; removes the
# packages again before the builds below install the tree)
# the files of src/ form a stack (src/STACK): nothing includes from above
echo "== source: the stack of src/"
bash test/lint/check_stack.sh >"$LOGDIR/check_stack.log" 2>&1
sed 's/^/  /' "$LOGDIR/check_stack.log" | grep -v ' passed, '
count "$LOGDIR/check_stack.log"

if [ -z "${JUHEID_SKIP_PACKAGE:-}" ]; then
	echo "== Debian package (dpkg-buildpackage, apt-get install, autopkgtest)"
	bash test/package.sh >"$LOGDIR/package.log" 2>&1
	grep -E '^  (ok|not ok|skipped|\[)' "$LOGDIR/package.log"
	grep -q '^  not ok' "$LOGDIR/package.log" && tail -n 60 "$LOGDIR/package.log"
	count "$LOGDIR/package.log"
	echo "== a clean Debian 12 (debootstrap): the README's package commands, then the suites"
	bash test/clean-machine.sh >"$LOGDIR/clean-machine.log" 2>&1
	grep -E '^  (ok|not ok|skipped|installed-check)' "$LOGDIR/clean-machine.log"
	grep -q '^  not ok' "$LOGDIR/clean-machine.log" && tail -n 60 "$LOGDIR/clean-machine.log"
	count "$LOGDIR/clean-machine.log"
fi

for v in $PG_VERSIONS; do
	echo "== PostgreSQL $v"
	if ! PGC=$(pg_config_for "$v"); then
		echo "  could not build PostgreSQL $v (see $LOGDIR/pg$v-build.log)"
		failed=$((failed + 1))
		continue
	fi
	echo "  $($PGC --version) ($PGC)"
	if ! { make -s clean PG_CONFIG="$PGC" && make -s WERROR=1 PG_CONFIG="$PGC" &&
		make -s install PG_CONFIG="$PGC"; } >"$LOGDIR/build-$v.log" 2>&1; then
		cat "$LOGDIR/build-$v.log"
		echo "  build against $v failed"
		failed=$((failed + 1))
		continue
	fi
	# a warning is a failure even where -Werror did not catch it
	if grep -q "warning:" "$LOGDIR/build-$v.log"; then
		grep "warning:" "$LOGDIR/build-$v.log"
		failed=$((failed + 1))
	fi

	PGBIN=$($PGC --bindir)
	# both ways of calling the service: through the gateway worker (the
	# default) and from each backend itself
	for gw in on off; do
		run_version_mode "$v" "$gw"
	done
done

echo "== C unit tests and fuzzers"
# the unit tests, then the packaging and release checks (META.json, the
# PGXN archive, the released scripts, the mock's documentation): each
# script once, its log named after it, its last three lines shown
for t in test/unit/run*.sh test/release/run*.sh; do
	[ -e "$t" ] || continue
	bash "$t" >"$LOGDIR/$(basename "$t").log" 2>&1
	tail -n 3 "$LOGDIR/$(basename "$t").log" | sed 's/^/  /'
	count "$LOGDIR/$(basename "$t").log"
done

# the client recipes of the README, each a real program against the mock
echo "== client recipes (examples/clients: psycopg2, psycopg 3, node-postgres, pgJDBC)"
bash examples/clients/run.sh /usr/lib/postgresql/15/bin/pg_config >"$LOGDIR/clients.log" 2>&1
grep -E '^  (ok|not ok) ' "$LOGDIR/clients.log"
grep -q '^  not ok' "$LOGDIR/clients.log" && tail -n 60 "$LOGDIR/clients.log"
count "$LOGDIR/clients.log"

echo "== mock self-test"
bash mock/mock_selftest.sh >"$LOGDIR/mock_selftest.log" 2>&1
tail -n 1 "$LOGDIR/mock_selftest.log" | sed 's/^/  /'
count "$LOGDIR/mock_selftest.log"

echo "logs: $LOGDIR"
summary
