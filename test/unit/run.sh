#!/bin/bash
# test/unit/run.sh -- C unit tests of the ID/name toolkit (src/idcard.c,
# src/name.c, src/regions_data.c) under AddressSanitizer/UBSan, then the
# toolkit fuzzer for a bounded time (FUZZ_SECONDS, default 30).  Checks
# first that src/regions_data.c matches data/gbt2260-timeline.tsv.
# Last line: "N passed, N failed" (each unit check counts; the generated-
# table check and the fuzz run count as one test each).
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/unit/lib.sh
SRCS="src/idcard.c src/name.c src/regions_data.c"

# the committed table is what the generator makes from the committed data
if /usr/bin/python3 tools/gen_regions.py --check; then
	echo "regions_data.c: up to date"
	passed=$((passed + 1))
else
	echo "regions_data.c: FAILED (stale)"
	failed=$((failed + 1))
fi

unit test_idcard "$SRCS"
fuzz fuzz_idcard "$SRCS" 1024
summary
