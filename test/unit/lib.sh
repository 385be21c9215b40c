# test/unit/lib.sh -- shared by test/unit/run*.sh: build a C unit test or a
# libFuzzer harness with the sanitizers, run it, and keep the counts.
# Callers end with: summary
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -Wall -Wextra -Werror -Wmissing-prototypes -Isrc -Itest/unit"
passed=0
failed=0

# unit NAME "SOURCES AND FLAGS" [ARGS...]: test/unit/NAME.c, prints N passed, N failed
unit() {
	local name=$1 srcs=$2 out rc line fails
	shift 2
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS $SAN -o "test/unit/$name.bin" "test/unit/$name.c" $srcs; then
		echo "$name: build failed"
		failed=$((failed + 1))
		return
	fi
	out=$(ASAN_OPTIONS=detect_leaks=1 "./test/unit/$name.bin" "$@" 2>&1)
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
}

# fuzz NAME "SOURCES AND FLAGS" MAX_LEN: test/fuzz/NAME.c on test/fuzz/corpus_*
# seeds for FUZZ_SECONDS (default 30); a crash, leak, trap or timeout fails
# and the failing input is kept as test/fuzz/NAME-*.bin (ignored by git)
fuzz() {
	local name=$1 srcs=$2 maxlen=$3 work f
	work=$(mktemp -d)
	mkdir "$work/corpus"
	cp test/fuzz/corpus_"${name#fuzz_}"/* "$work/corpus/"
	# shellcheck disable=SC2086
	if ! $CC -g -O1 -Wall -Wextra -Werror -Isrc \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "test/fuzz/$name.bin" "test/fuzz/$name.c" $srcs; then
		echo "$name: build failed"
		failed=$((failed + 1))
	elif "./test/fuzz/$name.bin" -max_total_time="${FUZZ_SECONDS:-30}" \
		-rss_limit_mb=2048 -max_len="$maxlen" -timeout=10 -artifact_prefix="$work/" \
		"$work/corpus" >"$work/log" 2>&1; then
		echo "$name: ok ($(grep -oE 'Done [0-9]+ runs' "$work/log"))"
		passed=$((passed + 1))
	else
		tail -n 30 "$work/log"
		for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -e "$f" ] || continue
			cp "$f" "test/fuzz/$name-$(basename "$f").bin"
			echo "failing input: test/fuzz/$name-$(basename "$f").bin"
		done
		echo "$name: FAILED"
		failed=$((failed + 1))
	fi
	rm -rf "$work"
}

summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
