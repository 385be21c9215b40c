#!/bin/bash
# bench/cpu_per_call.sh -- CPU per call in plain mode, against a raw libcurl
# keep-alive loop (bench/raw_curl.c) sending the same form POSTs to the
# same loopback mock, in one run.  juhe.gateway = off, so the backend does
# everything a call needs itself; its CPU is read from /proc/self/stat
# before and after N calls in one statement (one transaction); the two
# alternate ROUNDS times and the medians are compared.
#
#   raw libcurl             the floor: build a body, one HTTP exchange
#   juhe_verify, billed     every stage: SQL call, input checks, memo digest
#                           (HMAC), request body, transport, parsing, the
#                           ledger's two records, statistics
#   juhe_verify, local      SQL call + input checks only (an ID with a wrong
#                           check digit: answered locally, nothing sent)
#
# The difference between the last two is what sending costs inside
# juheid; against raw libcurl, what juheid adds to it.  Not part of the
# test suite.  About half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
ROUNDS=${ROUNDS:-5}
export JUHEID_GATEWAY=off
. test/harness.sh
. bench/lib.sh
trap harness_stop EXIT
harness_start >/dev/null
BIN=$HARNESS_DIR/raw_curl
cc -O2 -Wall -Wextra -Werror -o "$BIN" bench/raw_curl.c $(pkg-config --cflags --libs libcurl)
Q="psql -X -q -At -d postgres"
TCK=$(getconf CLK_TCK)

$Q <<'SQL'
CREATE EXTENSION juheid;
-- this backend's user + system CPU, in clock ticks
CREATE FUNCTION cpu_ticks() RETURNS bigint LANGUAGE sql AS $$
  SELECT s[12]::bigint + s[13]::bigint
    FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS s) x $$;
SQL

per_call() {	# $1: the ID to use, $2: calls (default N); prints microseconds of CPU per call
	local n=${2:-$N}
	$Q <<SQL | tail -n 1
SET juhe.retries = 0;
SET juhe.max_requests_per_statement = 0;
SELECT cpu_ticks() AS t0 \gset
SELECT count(juhe_verify('测' || chr(19968 + g % 20000) || chr(19968 + g / 20000), '$1')) FROM generate_series(1, $n) g \g /dev/null
SELECT round((cpu_ticks() - :t0) * 1000000.0 / $TCK / $n, 1);
SQL
}

"$BIN" "$JUHE_MOCK_URL/idcard/query" 200 >/dev/null	# warm-up
per_call 440304198808081238 >/dev/null	# warm-up
# alternate, ROUNDS times, and take the medians: the machine is noisy
raws=()
billeds=()
for r in $(seq 1 "$ROUNDS"); do
	raws+=("$("$BIN" "$JUHE_MOCK_URL/idcard/query" "$N")")
	billeds+=("$(per_call 440304198808081238)")
	echo "round $r: raw libcurl ${raws[-1]} us, juhe_verify ${billeds[-1]} us"
done
raw=$(median "${raws[@]}")
billed=$(median "${billeds[@]}")
local_=$(per_call 44030419880808123X 200000)
echo "CPU per call (medians of $ROUNDS rounds of $N calls), plain mode, loopback mock, gateway off:"
echo "  raw libcurl keep-alive loop   $raw us"
echo "  juhe_verify, billed answer    $billed us  ($(calc "$billed / $raw")x raw libcurl)"
echo "  juhe_verify, local answer     $local_ us  (SQL call and input checks)"
echo "  sending inside juheid         $(calc "$billed - $local_" %.1f) us  (billed - local)"
