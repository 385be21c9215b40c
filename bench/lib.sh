# bench/lib.sh -- sourced by the benchmarks after test/harness.sh: the
# median of repeated measurements, arithmetic on them, and the delay proxy
# (bench/delay_proxy.py) that puts the mock a round trip away.

# median N...: the middle value (the upper one of an even count)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# calc EXPR [FORMAT]: EXPR (awk arithmetic on measured numbers), printed
# with FORMAT (default %.2f)
calc() { awk "BEGIN {printf \"${2:-%.2f}\", $1}"; }

# start_delay_proxy PORT DELAY_MS: the proxy in front of 127.0.0.1:PORT,
# DELAY_MS away each way; sets PROXY_PID and PROXY_PORT.  bench_cleanup
# (the benchmarks' EXIT trap) stops it and the harness.
PROXY_PID=""
start_delay_proxy() {
	/usr/bin/python3 bench/delay_proxy.py --target "127.0.0.1:$1" \
		--delay-ms "$2" --port-file "$HARNESS_DIR/proxy.port" &
	PROXY_PID=$!
	wait_for_file "$HARNESS_DIR/proxy.port"
	PROXY_PORT=$(cat "$HARNESS_DIR/proxy.port")
}
bench_cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	harness_stop
}
