#!/bin/bash
# test/unit/run.sh -- C unit tests of the ID/name toolkit (src/idcard.c,
# src/name.c, src/regions_data.c) under AddressSanitizer/UBSan, then the
# toolkit fuzzer for a bounded time (FUZZ_SECONDS, default 30).  Checks
# first that src/regions_data.c matches data/gbt2260-timeline.tsv.
# Last line: "N passed, N failed" (each unit check counts; the generated-
# table check and the fuzz run count as one test each).
set -uo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -Wall -Wextra -Werror -Wmissing-prototypes -Isrc"
SRCS="src/idcard.c src/name.c src/regions_data.c"
passed=0
failed=0

# the committed table is what the generator makes from the committed data
if /usr/bin/python3 tools/gen_regions.py --check; then
	echo "regions_data.c: up to date"
	passed=$((passed + 1))
else
	echo "regions_data.c: FAILED (stale)"
	failed=$((failed + 1))
fi

if $CC $CFLAGS $SAN -o test/unit/test_idcard.bin test/unit/test_idcard.c $SRCS; then
	out=$(ASAN_OPTIONS=detect_leaks=1 ./test/unit/test_idcard.bin 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -n "$line" ]; then
		passed=$((passed + $(echo "$line" | awk '{print $1}')))
		failed=$((failed + $(echo "$line" | awk '{print $3}')))
	fi
	# a sanitizer report or a crash after (or instead of) the summary fails
	fails=$(echo "$line" | awk '{print $3}')
	if [ $rc -ne 0 ] && [ "${fails:-0}" = 0 ]; then
		failed=$((failed + 1))
	fi
else
	echo "test_idcard: build failed"
	failed=$((failed + 1))
fi

# fuzz the ID and name code; a crash, leak, invariant trap or timeout fails
work=$(mktemp -d)
corpus=$work/corpus
log=$work/fuzz_idcard.log
mkdir "$corpus"
cp test/fuzz/corpus_idcard/* "$corpus/"
if $CC -g -O1 -Wall -Wextra -Werror -Isrc \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o test/fuzz/fuzz_idcard.bin test/fuzz/fuzz_idcard.c $SRCS; then
	if ./test/fuzz/fuzz_idcard.bin -max_total_time="${FUZZ_SECONDS:-30}" \
		-rss_limit_mb=2048 -max_len=1024 -timeout=10 -artifact_prefix="$work/" \
		"$corpus" >"$log" 2>&1; then
		echo "fuzz_idcard: ok ($(grep -oE 'Done [0-9]+ runs' "$log"))"
		passed=$((passed + 1))
	else
		tail -n 30 "$log"
		# keep the failing input (as *.bin, which git ignores)
		for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -e "$f" ] || continue
			cp "$f" "test/fuzz/fuzz_idcard-$(basename "$f").bin"
			echo "failing input: test/fuzz/fuzz_idcard-$(basename "$f").bin"
		done
		echo "fuzz_idcard: FAILED"
		failed=$((failed + 1))
	fi
else
	echo "fuzz_idcard: build failed"
	failed=$((failed + 1))
fi
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
