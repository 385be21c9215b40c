#!/bin/bash
# bench/connection_reuse.sh -- what a call costs, in round trips, depending
# on the state of the connection to the service: the baseline the gateway
# worker (issue 10) is to improve on.
#
# The mock serves HTTPS with a 3 s keep-alive timeout (like a web server's);
# bench/delay_proxy.py puts it DELAY_MS (default 10) away each way, so one
# round trip (RTT) is 2 x DELAY_MS.  Measured inside the backend
# (clock_timestamp around juhe_verify), one run, medians:
#   warm       the backend called within the keep-alive time
#   idle       the server closed the idle connection (> 3 s): new TCP,
#              resumed TLS
#   new        first call in a new backend: new TCP, full TLS
#   20 x 2 s   20 backends each calling every INTERVAL s (default 2): p50,
#              p90, and the connections the service saw
# Starts the throw-away cluster and mock (test/harness.sh); stops both and
# the proxy when done.  Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS=${DELAY_MS:-10}
INTERVAL=${INTERVAL:-2}
BACKENDS=${BACKENDS:-20}
ROUNDS=${ROUNDS:-8}
JUHEID_MOCK_ARGS="--idle-timeout 3"
. test/harness.sh
PROXY_PID=""
cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	harness_stop
}
trap cleanup EXIT
harness_start >/dev/null
/usr/bin/python3 bench/delay_proxy.py --target "127.0.0.1:$MOCK_TLS_PORT" \
	--delay-ms "$DELAY_MS" --port-file "$HARNESS_DIR/proxy.port" &
PROXY_PID=$!
wait_for_file "$HARNESS_DIR/proxy.port"
PROXY_PORT=$(cat "$HARNESS_DIR/proxy.port")
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe.base_url = 'https://127.0.0.1:$PROXY_PORT'
juhe.ca_file = '$JUHE_TEST_CA'
juhe.retries = 0
juhe.timeout_ms = 10000
max_connections = 40
CONF
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -w restart >/dev/null
RTT=$(echo "2 * $DELAY_MS" | bc -l)
Q="psql -X -q -At -d postgres"

$Q <<'SQL'
CREATE EXTENSION juheid;
CREATE TABLE timings (what text, ms float8);
CREATE FUNCTION timed_call() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM juhe_verify('张三', '11010519491231002X');
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
CREATE PROCEDURE calls(what text, n int, pause float8) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO timings VALUES (what, timed_call());
    COMMIT;
    PERFORM pg_sleep(pause);
  END LOOP;
END $$;
SQL

echo "delay proxy: ${DELAY_MS} ms each way, RTT ${RTT} ms; server keep-alive 3 s"
# warm: one backend, back to back (the first call, which connects, is dropped)
$Q -c "SELECT timed_call()" -c "CALL calls('warm', 30, 0)" >/dev/null
# idle: the server closes the connection between calls
$Q -c "SELECT timed_call()" -c "CALL calls('idle', 5, 3.5)" >/dev/null
# new: a new backend for every call
for _ in $(seq 1 10); do
	$Q -c "INSERT INTO timings SELECT 'new', timed_call()" >/dev/null
	sleep 3.5
done
# many backends, each calling every INTERVAL seconds
curl -s --noproxy '*' -o /dev/null -X POST "$JUHE_MOCK_URL/_reset"
pids=()
for b in $(seq 1 "$BACKENDS"); do
	sleep "$(echo "$INTERVAL / $BACKENDS" | bc -l)"
	$Q -c "CALL calls('many', $ROUNDS, $INTERVAL)" >/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
CONNS=$(curl -s --noproxy '*' "$JUHE_MOCK_URL/_stats" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')

$Q -F ' | ' <<SQL
SELECT rpad(what, 6) AS what, count(*) AS calls,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS p50_ms,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) / $RTT)::numeric, 2) AS p50_rtt,
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) / $RTT)::numeric, 2) AS p90_rtt
  FROM timings GROUP BY what ORDER BY min(ctid);
SQL
echo "many: $BACKENDS backends every ${INTERVAL} s opened $CONNS connections to the service"
