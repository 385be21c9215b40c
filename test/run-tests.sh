#!/bin/bash
# test/run-tests.sh -- install what is needed, build with -Werror, start a
# throw-away cluster and the mock service, and run every test:
#   pg_regress suites (sql/, expected/), C unit tests under ASan/UBSan, the
#   fuzzer for a bounded time, and the mock's own self-test.
# Ends with one line "N passed, N failed"; exit status 0 only if none failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash test/install-deps.sh || exit 1

passed=0
failed=0
count() {	# count "N passed, N failed" from the last such line of a log
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "  (no result line in $1: counted as one failure)"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(echo "$line" | awk '{print $1}')))
	failed=$((failed + $(echo "$line" | awk '{print $3}')))
}

LOGDIR=$(mktemp -d /tmp/juheid-logs.XXXXXX)

echo "== build"
if ! { make -s clean && make -s WERROR=1 && make -s install; } >"$LOGDIR/build.log" 2>&1; then
	cat "$LOGDIR/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi

. test/harness.sh
trap harness_stop EXIT
if ! harness_start; then
	echo "could not start the cluster or the mock"
	echo "0 passed, 1 failed"
	exit 1
fi
harness_test_settings

echo "== pg_regress (cluster on port $PGPORT, mock on $MOCK_PORT)"
rm -rf results regression.diffs regression.out
make -s installcheck PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
	>"$LOGDIR/regress.log" 2>&1
grep -E '\.\.\. |^(ok|not ok) ' "$LOGDIR/regress.log" | sed 's/^/  /'
r_ok=$(grep -cE '\.\.\. ok' "$LOGDIR/regress.log")
r_fail=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$LOGDIR/regress.log")
if ! grep -qE '\.\.\. ' "$LOGDIR/regress.log"; then
	cat "$LOGDIR/regress.log"
	r_fail=$((r_fail + 1))
fi
[ -s regression.diffs ] && cat regression.diffs
passed=$((passed + r_ok))
failed=$((failed + r_fail))

echo "== C unit tests and fuzzers"
for t in test/unit/run*.sh; do
	[ -e "$t" ] || continue
	bash "$t" >"$LOGDIR/$(basename "$t").log" 2>&1
	tail -n 3 "$LOGDIR/$(basename "$t").log" | sed 's/^/  /'
	count "$LOGDIR/$(basename "$t").log"
done

echo "== mock self-test"
bash test/mock_selftest.sh >"$LOGDIR/mock_selftest.log" 2>&1
tail -n 1 "$LOGDIR/mock_selftest.log" | sed 's/^/  /'
count "$LOGDIR/mock_selftest.log"

echo "logs: $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
