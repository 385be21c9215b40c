#!/bin/bash
# bench/connection_reuse.sh -- what a call costs, in round trips, depending
# on the state of the connection to the service, with the gateway worker
# (juhe.gateway = on) and without (off), in one run.
#
# The mock serves HTTPS with a 3 s keep-alive timeout (like a web server's);
# bench/delay_proxy.py puts it DELAY_MS (default 10) away each way, so one
# round trip (RTT) is 2 x DELAY_MS.  Measured inside the backend
# (clock_timestamp around juhe_verify), one run, medians:
#   warm       the backend called within the keep-alive time
#   idle       the server closed the idle connection (> 3 s): new TCP,
#              resumed TLS
#   new        first call in a new backend, one a second (so the gateway's
#              connection stays warm; a direct call has no connection)
#   many       20 backends each calling every INTERVAL s (default 2): p50,
#              p90, and the connections the service saw
#   handoff    on loopback without the proxy, one backend, back to back: the
#              cost of handing a request to the worker, in microseconds
# Starts the throw-away cluster and mock (test/harness.sh); stops both and
# the proxy when done.  Not part of the test suite.  About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS=${DELAY_MS:-10}
INTERVAL=${INTERVAL:-2}
BACKENDS=${BACKENDS:-20}
ROUNDS=${ROUNDS:-8}
JUHEID_MOCK_ARGS="--idle-timeout 3"
. test/harness.sh
. bench/lib.sh
trap bench_cleanup EXIT
harness_start >/dev/null
start_delay_proxy "$MOCK_TLS_PORT" "$DELAY_MS"
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe.base_url = 'https://127.0.0.1:$PROXY_PORT'
juhe.ca_file = '$JUHE_TEST_CA'
juhe.retries = 0
juhe.timeout_ms = 10000
max_connections = 40
CONF
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -w restart >/dev/null
RTT=$(echo "2 * $DELAY_MS" | bc -l)
declare -A conns
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
for mode in off on; do
	$Q -c "ALTER SYSTEM SET juhe.gateway = $mode" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	# warm: one backend, back to back (the first call, which connects, is dropped)
	$Q -c "SELECT timed_call()" -c "CALL calls('warm $mode', 30, 0)" >/dev/null
	# idle: the server closes the connection between calls
	$Q -c "SELECT timed_call()" -c "CALL calls('idle $mode', 5, 3.5)" >/dev/null
	# new: a new backend for every call
	$Q -c "SELECT timed_call()" >/dev/null
	for _ in $(seq 1 10); do
		$Q -c "INSERT INTO timings SELECT 'new $mode', timed_call()" >/dev/null
		sleep 1
	done
	# many backends, each calling every INTERVAL seconds
	curl -s --noproxy '*' -o /dev/null -X POST "$JUHE_MOCK_URL/_reset"
	pids=()
	for b in $(seq 1 "$BACKENDS"); do
		sleep "$(echo "$INTERVAL / $BACKENDS" | bc -l)"
		$Q -c "CALL calls('many $mode', $ROUNDS, $INTERVAL)" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	conns[$mode]=$(curl -s --noproxy '*' "$JUHE_MOCK_URL/_stats" | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')
done

# handoff: loopback without the proxy, one backend, the modes alternating
# in blocks of 500 calls (the mock's own speed drifts over a run)
for block in 1 2 3 4 5 6; do
	for mode in off on; do
		$Q -c "ALTER SYSTEM SET juhe.gateway = $mode" -c "SELECT pg_reload_conf()" >/dev/null
		sleep 0.3
		$Q -c "SET juhe.base_url = '$JUHE_MOCK_URL'" -c "SELECT timed_call()" \
			-c "CALL calls('loop $mode $block', 500, 0)" >/dev/null
	done
done

$Q -F ' | ' <<SQL
SELECT rpad(split_part(what, ' ', 1), 5) AS what,
       count(*) FILTER (WHERE what LIKE '% off') AS n,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% off') / $RTT)::numeric, 2) AS off_p50_rtt,
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% off') / $RTT)::numeric, 2) AS off_p90_rtt,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% on') / $RTT)::numeric, 2) AS on_p50_rtt,
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% on') / $RTT)::numeric, 2) AS on_p90_rtt,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% off') /
              percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what LIKE '% on'))::numeric, 2) AS off_over_on
  FROM timings WHERE what NOT LIKE 'loop%'
 GROUP BY 1 ORDER BY min(ctid);
WITH blocks AS (
  SELECT split_part(what, ' ', 3) AS k,
         avg(ms) FILTER (WHERE split_part(what, ' ', 2) = 'off') AS off_ms,
         avg(ms) FILTER (WHERE split_part(what, ' ', 2) = 'on') AS on_ms
    FROM timings WHERE what LIKE 'loop%' GROUP BY 1)
SELECT 'handoff' AS what,
       round((avg(off_ms) * 1000)::numeric) AS off_us_per_call,
       round((avg(on_ms) * 1000)::numeric) AS on_us_per_call,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY on_ms - off_ms) * 1000)::numeric) AS added_us_median_of_6_blocks,
       round((min(on_ms - off_ms) * 1000)::numeric) AS min_us,
       round((max(on_ms - off_ms) * 1000)::numeric) AS max_us
  FROM blocks;
SQL
echo "many: $BACKENDS backends every ${INTERVAL} s opened ${conns[off]} connections to the service with the gateway off, ${conns[on]} with it on"
