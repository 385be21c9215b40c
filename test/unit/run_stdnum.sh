#!/bin/bash
# test/unit/run_stdnum.sh -- differential test of the ID toolkit against
# python-stdnum (stdnum.cn.ric, Debian package python3-stdnum): builds
# test/differential/idcheck.c on src/idcard.c, src/name.c and
# src/regions_data.c (with the sanitizers), then runs
# test/differential/stdnum_diff.py, which compares both on 130,000
# generated IDs and every disagreement with
# test/differential/expected_disagreements.tsv (see
# test/differential/README.md).  Installs nothing: without python3-stdnum
# it fails with a message.
# Last line: "N passed, N failed": the ID count, the accept/reject mix, the
# agreement rate, "no unexplained disagreement", one check per rule cause
# of the fixture and one for all its region-code entries together.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. test/unit/lib.sh
SRCS="src/idcard.c src/name.c src/regions_data.c"
PY=/usr/bin/python3

if ! "$PY" -c 'import stdnum.cn.ric' 2>/dev/null; then
	echo "stdnum_diff: python3-stdnum is missing (apt-get install python3-stdnum)"
	failed=$((failed + 1))
	summary
	exit
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2086
if ! $CC $CFLAGS $SAN -o "$work/idcheck" test/differential/idcheck.c $SRCS; then
	echo "idcheck: build failed"
	failed=$((failed + 1))
	summary
	exit
fi

out=$(ASAN_OPTIONS=detect_leaks=1 PYTHONDONTWRITEBYTECODE=1 \
	"$PY" test/differential/stdnum_diff.py --driver "$work/idcheck" 2>&1)
rc=$?
echo "$out" | grep -v '^stdnum_diff: [0-9]* passed, [0-9]* failed$'
line=$(echo "$out" | grep -E '^stdnum_diff: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -n "$line" ]; then
	passed=$((passed + $(echo "$line" | awk '{print $2}')))
	failed=$((failed + $(echo "$line" | awk '{print $4}')))
fi
fails=$(echo "$line" | awk '{print $4}')
if [ $rc -ne 0 ] && [ "${fails:-0}" = 0 ]; then
	echo "stdnum_diff: exited with status $rc"
	failed=$((failed + 1))
fi
summary
