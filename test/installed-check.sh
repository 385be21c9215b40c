#!/bin/bash
# test/installed-check.sh [MAJOR...] -- the pg_regress suites against the
# INSTALLED juheid (the postgresql-NN-juheid package) and the installed
# mock (juheid-mock), as Debian's autopkgtest runs them
# (debian/tests/installcheck): nothing is built or installed here.  Then the
# example of a user's own suite (examples/user-suite/run.sh) against the
# same installed files.
#
# Versions: the arguments, else every PostgreSQL with postgresql-NN-juheid
# installed (pg_buildext installed-versions).  JUHEID_GATEWAYS (default
# "on off") lists the juhe.gateway settings to run the suites with.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
	mapfile -t versions < <(pg_buildext installed-versions 2>/dev/null)
fi
if [ ${#versions[@]} -eq 0 ]; then
	echo "no postgresql-NN-juheid package is installed"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v juheid-mock >/dev/null; then
	echo "juheid-mock is not installed"
	echo "0 passed, 1 failed"
	exit 1
fi

LOGDIR=$(mktemp -d /tmp/juheid-installed.XXXXXX)
export JUHEID_MOCK=juheid-mock
. test/harness.sh
trap harness_stop EXIT

for v in "${versions[@]}"; do
	PGC=/usr/lib/postgresql/$v/bin/pg_config
	PGBIN=/usr/lib/postgresql/$v/bin
	pkg=postgresql-$v-juheid
	# the files the suites load are the package's, not a build's
	for f in "$($PGC --pkglibdir)/juheid.so" "$($PGC --sharedir)/extension/juheid.control"; do
		if dpkg -S "$f" 2>/dev/null | grep -q "^$pkg:"; then
			passed=$((passed + 1))
		else
			echo "  $f does not belong to $pkg"
			failed=$((failed + 1))
		fi
	done
	harness_suites_gateways "installed $pkg" "$PGC" "$LOGDIR/regress-$v"

	# a user's own suite, as the README shows it
	echo "  [installed $pkg] examples/user-suite/run.sh $v"
	if (cd examples/user-suite && ./run.sh "$v") >"$LOGDIR/user-suite-$v.log" 2>&1 &&
		grep -q "All 1 tests passed" "$LOGDIR/user-suite-$v.log"; then
		echo "  [installed $pkg] user suite ... ok"
		passed=$((passed + 1))
	else
		tail -n 40 "$LOGDIR/user-suite-$v.log"
		[ -s examples/user-suite/regression.diffs ] && cat examples/user-suite/regression.diffs
		failed=$((failed + 1))
	fi
	rm -rf examples/user-suite/results examples/user-suite/regression.diffs examples/user-suite/regression.out
done

echo "logs: $LOGDIR"
summary
