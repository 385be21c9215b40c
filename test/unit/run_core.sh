#!/bin/bash
# test/unit/run_core.sh -- C unit tests of the crypto and answer-parsing
# code under AddressSanitizer/UBSan, then the answer-parser fuzzer for a
# bounded time (FUZZ_SECONDS, default 30).  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -Wall -Wextra -Werror -Isrc $(pkg-config --cflags json-c libcrypto)"
LIBS="$(pkg-config --libs json-c libcrypto)"
passed=0
failed=0

if $CC $CFLAGS $SAN -o test/unit/test_core.bin test/unit/test_core.c \
	src/crypto.c src/response.c $LIBS; then
	out=$(ASAN_OPTIONS=detect_leaks=1 ./test/unit/test_core.bin test/keys 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -n "$line" ]; then
		passed=$((passed + $(echo "$line" | awk '{print $1}')))
		failed=$((failed + $(echo "$line" | awk '{print $3}')))
	fi
	# a sanitizer report or a crash after the summary still fails the run
	if [ $rc -ne 0 ] && [ "$(echo "$line" | awk '{print $3}')" = 0 ]; then
		failed=$((failed + 1))
	fi
else
	echo "test_core: build failed"
	failed=$((failed + 1))
fi

# fuzz the answer parser; a crash, leak or timeout fails
corpus=$(mktemp -d)
cp test/fuzz/corpus_response/* "$corpus/"
if $CC -g -O1 -Isrc $(pkg-config --cflags json-c) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o test/fuzz/fuzz_response.bin test/fuzz/fuzz_response.c src/response.c \
	$(pkg-config --libs json-c); then
	if ./test/fuzz/fuzz_response.bin -max_total_time="${FUZZ_SECONDS:-30}" \
		-rss_limit_mb=2048 -max_len=4096 "$corpus" >test/fuzz/fuzz_response.log 2>&1; then
		echo "fuzz_response: ok ($(grep -oE 'Done [0-9]+ runs' test/fuzz/fuzz_response.log))"
		passed=$((passed + 1))
	else
		tail -n 30 test/fuzz/fuzz_response.log
		echo "fuzz_response: FAILED"
		failed=$((failed + 1))
	fi
else
	echo "fuzz_response: build failed"
	failed=$((failed + 1))
fi
rm -rf "$corpus"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
