#!/bin/bash
# bench/bulk.sh -- bulk verification, measured in one run.
#
# The throw-away cluster and the mock (test/harness.sh), the mock behind
# bench/delay_proxy.py DELAY_MS (default 25) away each way: a 50 ms round
# trip, like a provider across the country.  juhe.gateway_connections = 32.
#
#   1. throughput: ROWS (default 2000) distinct pairs through
#      juhe_verify_many at parallel 32, against a sequential LATERAL over
#      SEQ_ROWS (default 100) of them; rows per second of each, the ratio,
#      and the connections the mock saw for the bulk call
#   2. fairness: the latency of a signup's single call, idle and while a
#      bulk job keeps 64 requests in flight for the 32 connections (medians
#      of SIGNUPS calls each, and the ratio)
#   3. the rate limit: a juhe_verify_table job over RATE_ROWS rows with
#      juhe.max_requests_per_second = 100 (no delay proxy), its measured
#      rate against 100
#
# Not part of the test suite.  About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS=${DELAY_MS:-25}
ROWS=${ROWS:-2000}
SEQ_ROWS=${SEQ_ROWS:-100}
SIGNUPS=${SIGNUPS:-20}
RATE_ROWS=${RATE_ROWS:-1000}
. test/harness.sh
. bench/lib.sh
trap bench_cleanup EXIT
harness_start >/dev/null
start_delay_proxy "$MOCK_PORT" "$DELAY_MS"
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe.base_url = 'http://127.0.0.1:$PROXY_PORT'
juhe.gateway_connections = 32
juhe.retries = 0
juhe.timeout_ms = 20000
juhe.connect_timeout_ms = 20000
juhe.max_requests_per_statement = 0
CONF
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -w restart >/dev/null
Q="psql -X -q -At -d postgres"
mock() { curl -s --noproxy '*' "http://127.0.0.1:$MOCK_PORT/$1" ${2:+-X "$2"}; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

$Q <<SQL
CREATE EXTENSION juheid;
CREATE TABLE people AS
SELECT g AS id, '测' || chr(19968 + g) AS realname, '440304198808081238'::text AS idcard
  FROM generate_series(1, $ROWS) g;
CREATE FUNCTION ms_since(t timestamptz) RETURNS float8 LANGUAGE sql AS
  \$\$ SELECT extract(epoch FROM clock_timestamp() - t) * 1000 \$\$;
SQL

# 1. throughput
t=$($Q -c "SELECT clock_timestamp()")
$Q -c "SELECT count(v.res) FROM (SELECT * FROM people ORDER BY id LIMIT $SEQ_ROWS) p,
       LATERAL juhe_verify(p.realname || '乙', p.idcard) v" >/dev/null
seq_ms=$($Q -c "SELECT ms_since('$t')")
mock _reset POST >/dev/null
t=$($Q -c "SELECT clock_timestamp()")
$Q -c "SELECT count(*) FROM juhe_verify_many(
         ARRAY(SELECT realname FROM people ORDER BY id), ARRAY(SELECT idcard FROM people ORDER BY id),
         'plain', 32)" >/dev/null
bulk_ms=$($Q -c "SELECT ms_since('$t')")
stats=$(mock _stats)
conns=$(echo "$stats" | field connections)
reqs=$(echo "$stats" | field requests)
seq_rate=$(calc "$SEQ_ROWS / $seq_ms * 1000" %.1f)
bulk_rate=$(calc "$ROWS / $bulk_ms * 1000" %.1f)
echo "1. throughput at a ${DELAY_MS}x2 ms round trip: sequential LATERAL $seq_rate rows/s ($SEQ_ROWS rows);"
echo "   juhe_verify_many parallel 32: $bulk_rate rows/s ($ROWS rows, $reqs requests, $conns connections)"
echo "   ratio $(calc "$bulk_rate / $seq_rate" %.1f)x"

# 2. a signup's call, idle and during a 32-wide bulk job
signup_one() {
	$Q <<SQL
CREATE TEMP TABLE lat (ms float8);
DO \$\$
DECLARE t timestamptz;
BEGIN
  FOR i IN 1..$SIGNUPS LOOP
    t := clock_timestamp();
    PERFORM juhe_verify('张' || chr(19968 + i), '11010519491231002X');
    INSERT INTO lat VALUES (ms_since(t));
    PERFORM pg_sleep(0.05);
  END LOOP;
END \$\$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
       round(max(ms)::numeric, 1) || ' ' || string_agg(round(ms)::text, ',') FROM lat;
SQL
}
read -r idle idle_max idle_all <<<"$(signup_one)"
t=$($Q -c "SELECT clock_timestamp()")
$Q -c "SELECT count(*) FROM juhe_verify_many(
         ARRAY(SELECT realname || '丙' FROM people ORDER BY id), ARRAY(SELECT idcard FROM people ORDER BY id),
         'plain', 64)" >/dev/null &
BULK=$!
sleep 0.5
read -r busy busy_max busy_all <<<"$(signup_one)"
signup_end=$($Q -c "SELECT round(ms_since('$t'))")
wait $BULK
bulk_end=$($Q -c "SELECT round(ms_since('$t'))")
echo "2. a signup's call: median $idle ms idle, $busy ms during a bulk job 64 wide (twice the connections): $(calc "$busy / $idle")x"
echo "   max $idle_max ms idle, $busy_max ms busy; busy calls: $busy_all
   (the signups ran from 0.5 s to $((signup_end / 1000)).$(((signup_end % 1000) / 100)) s, the bulk job until at least $((bulk_end / 1000)).$(((bulk_end % 1000) / 100)) s)"

# 3. the cluster rate limit, without the delay
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe.base_url = 'http://127.0.0.1:$MOCK_PORT'
juhe.max_requests_per_second = 100
CONF
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" reload >/dev/null
sleep 0.5
$Q <<SQL
CREATE TABLE rated (realname text, idcard text, v juhe_result);
INSERT INTO rated SELECT '测' || chr(21968 + g), '440304198808081238' FROM generate_series(1, $RATE_ROWS) g;
SQL
t=$($Q -c "SELECT clock_timestamp()")
$Q -c "SET client_min_messages = warning" -c "CALL juhe_verify_table('rated', 'realname', 'idcard', 'v', batch_size => 250, parallel => 8)"
rate_ms=$($Q -c "SELECT ms_since('$t')")
rate=$(calc "$RATE_ROWS / $rate_ms * 1000" %.1f)
echo "3. juhe.max_requests_per_second = 100: a table job of $RATE_ROWS rows ran at $rate rows/s ($(calc "$rate - 100" %+.1f) %)"
