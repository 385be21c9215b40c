#!/bin/bash
# bench/reuse_cost.sh -- what juhe.reuse_answers_for saves, and what a
# reused answer costs, in one run.
#
# Builds this tree (REF, default HEAD) into a copy of one PostgreSQL
# installation (PG_PREFIX, default the PostgreSQL 18 the test command
# builds), starts the mock and a throw-away cluster of that copy
# (test/harness.sh) with juhe.digest_key set in postgresql.conf, and
# measures:
#
#   1. a signup stream with retries: a signups table with UNIQUE (email)
#      and a BEFORE INSERT juhe_verify_trigger (result, orderid and
#      verified_at columns, on_mismatch=accept); N distinct people sign
#      up, every FAIL_EVERY-th (default 4th) first with an e-mail that is
#      already taken: the trigger verifies the row, the unique index then
#      rejects it and the transaction rolls back; the person retries at
#      once with a fresh e-mail.  With the default 1 in 4 people, 20 % of
#      the INSERTs fail and are retried.  Each INSERT is its own
#      transaction (psql in autocommit, \gexec).  The stream runs twice,
#      with juhe.reuse_answers_for = 0 and = '1d', each with people of its
#      own and the mock's counters reset: the mock's charges ("billed") of
#      each, their ratio (expected (N + N/FAIL_EVERY) / N, 1.25), and the
#      wall time per signup.
#   2. a reuse lookup against a billed call: juhe_verify(name, id) for
#      pairs billed earlier (answered by reuse), the same pairs with the
#      per-call opt-out (reuse => false: billed again), and fresh pairs
#      with reuse on (a lookup that misses, then billed), in blocks of
#      M / ROUNDS calls alternating ROUNDS times, one backend, timed in the
#      backend around each call (clock_timestamp): the median ms per call
#      of each and the ratios.
#
# The mock knows four resident IDs (mock/MOCK.md "People"); any other ID
# is answered 210301, which is not billed and so never reused.  A
# "person" here is therefore a distinct name with one of those four
# (valid, checked with juhe_idcard_valid) IDs: a billed mismatch (res 2),
# like the calls of bench/ledger_cost.sh.  Names and IDs are built in SQL
# from a number (person_name(k), person_id(k)), so no statement text, log
# line or output holds one.  The mock answers on loopback: against the
# real service every billed call also pays its round trip (tens of
# milliseconds), which a reused answer does not.  Not part of the test
# suite.  About half a minute, the build included.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-500}
FAIL_EVERY=${FAIL_EVERY:-4}
M=${M:-1000}
ROUNDS=${ROUNDS:-5}
PG_PREFIX=${PG_PREFIX:-/var/cache/juheid/pg18}
REF=${REF:-HEAD}
[ -x "$PG_PREFIX/bin/pg_config" ] || {
	echo "no PostgreSQL at PG_PREFIX=$PG_PREFIX (bash test/run-tests.sh builds one)" >&2
	exit 1
}
[ "$N" -ge "$FAIL_EVERY" ] && [ "$FAIL_EVERY" -ge 1 ] || {
	echo "need N >= FAIL_EVERY >= 1" >&2
	exit 1
}
[ "$M" -ge "$ROUNDS" ] || {
	echo "need M >= ROUNDS" >&2
	exit 1
}
B=$((M / ROUNDS))	# calls per block
M=$((B * ROUNDS))
COMMIT=$(git rev-parse --short "$REF")
W=$(mktemp -d /tmp/juheid-reuse-cost.XXXXXX)
chmod 755 "$W"

PGBIN=$W/pg/bin
PATH=$PGBIN:$PATH	# this copy's psql
. test/harness.sh
. bench/lib.sh
cleanup() {
	bench_cleanup
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# this tree, built into a private copy of PG_PREFIX
cp -a "$PG_PREFIX" "$W/pg"
mkdir "$W/src"
git archive "$REF" | tar -x -C "$W/src"
make -s -C "$W/src" PG_CONFIG="$W/pg/bin/pg_config" install >"$W/build.log" 2>&1 || {
	cat "$W/build.log" >&2
	exit 1
}
chown -R postgres: "$W" 2>/dev/null || true

harness_start >/dev/null
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe.retries = 0
juhe.digest_key = '$(openssl rand -hex 24)'
CONF
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" -w restart >/dev/null
Q="psql -X -q -At -v ON_ERROR_STOP=1 -d postgres"
mock() { curl -s --noproxy '*' "http://127.0.0.1:$MOCK_PORT/$1" ${2:+-X "$2"}; }
# mock_field NAME: that counter of the mock's /_stats
mock_field() { mock _stats | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
# sum of a juhe_stats column, or n/a when the view has none
stat_sum() { $Q -c "SELECT coalesce(sum($1), 0) FROM juhe_stats" 2>/dev/null || echo n/a; }

# people 1..: disjoint ranges of k for each part
S=$((N > M ? N : M))
S=$((S + 100))
BASE_OFF=$S
BASE_ON=$((2 * S))
BASE_R=$((3 * S))
BASE_F=$((4 * S))
BASE_WARM=$((5 * S))

$Q <<SQL
CREATE EXTENSION juheid;
-- person k: a name nobody in the mock has, with one of the mock's four IDs
CREATE FUNCTION person_id(k int) RETURNS text IMMUTABLE LANGUAGE sql AS
  \$\$ SELECT (ARRAY['11010519491231002X', '650102198506152016',
                     '110101199003074477', '440304198808081238'])[1 + k % 4] \$\$;
CREATE FUNCTION person_name(k int) RETURNS text IMMUTABLE LANGUAGE sql AS
  \$\$ SELECT '测' || chr(19968 + k % 20000) || chr(19968 + k / 20000) \$\$;
CREATE TABLE signups (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  realname text,
  idcard text,
  verification juhe_result,
  verified_orderid text,
  verified_at timestamptz
);
CREATE TRIGGER signups_verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard',
    'result=verification', 'orderid=verified_orderid', 'verified_at=verified_at',
    'on_mismatch=accept');
-- the stream: person base+p signs up; every $FAIL_EVERY-th first with a taken e-mail
CREATE TABLE stream (seq int PRIMARY KEY, email text, k int);
CREATE PROCEDURE make_stream(base int, n int, every int) LANGUAGE sql AS \$\$
  TRUNCATE stream;
  INSERT INTO stream
  SELECT row_number() OVER (ORDER BY p, a), e, base + p FROM (
    SELECT p, 0 AS a, 'taken-' || (base + p) || '@example.com' AS e
      FROM generate_series(1, n) p WHERE p % every = 0
    UNION ALL
    SELECT p, 1, 'user-' || (base + p) || '@example.com' FROM generate_series(1, n) p) s;
  TRUNCATE signups;
  INSERT INTO signups (email) SELECT email FROM stream WHERE email LIKE 'taken-%';
\$\$;
-- part 2: one row per timed call
CREATE TABLE calls (kind text, rnd int, ms float8, reused boolean, billed boolean);
CREATE FUNCTION timed(kind text, rnd int, k0 int, n int, reuse boolean) RETURNS void
LANGUAGE plpgsql AS \$\$
DECLARE r juhe_result; t0 timestamptz; t1 timestamptz; nm text; ic text;
BEGIN
  FOR k IN k0 .. k0 + n - 1 LOOP
    nm := person_name(k);
    ic := person_id(k);
    t0 := clock_timestamp();
    r := juhe_verify(nm, ic, NULL::text, reuse);
    t1 := clock_timestamp();
    INSERT INTO calls VALUES (kind, rnd, extract(epoch FROM t1 - t0) * 1000,
                              coalesce(r.reason LIKE 'reused answer of%', false),
                              coalesce(r.error_code = 0, false));
  END LOOP;
END \$\$;
SQL
valid=$($Q -c "SELECT bool_and(juhe_idcard_valid(person_id(k))) FROM generate_series(0, 3) k")
[ "$valid" = t ] || {
	echo "the four IDs are not all valid resident IDs" >&2
	exit 1
}
$Q -c "SHOW juhe.reuse_answers_for" >/dev/null || {
	echo "this build has no juhe.reuse_answers_for" >&2
	exit 1
}
# a warm-up: the first connection to the mock, the first billed call
$Q -c "SELECT count(juhe_verify(person_name(k), person_id(k))) FROM generate_series($BASE_WARM, $BASE_WARM + 9) k" >/dev/null

# 1. the signup stream; stream TAG REUSE BASE sets ${TAG}_{billed,requests,ms,...}
declare -A R
stream() {
	local tag=$1 reuse=$2 base=$3 t0 t1
	$Q -c "CALL make_stream($base, $N, $FAIL_EVERY)"
	$Q -c "SELECT juhe_stats_reset()" >/dev/null
	mock _reset POST >/dev/null
	t0=$(date +%s%N)
	psql -X -q -At -d postgres -v ON_ERROR_STOP=0 >/dev/null 2>"$W/stream-$tag.err" <<SQL
SET juhe.reuse_answers_for = '$reuse';
SELECT format('INSERT INTO signups (email, realname, idcard) VALUES (%L, person_name(%s), person_id(%s))',
              email, k, k)
  FROM stream ORDER BY seq \gexec
SQL
	t1=$(date +%s%N)
	R[$tag.billed]=$(mock_field billed)
	R[$tag.requests]=$(mock_field requests)
	R[$tag.inserts]=$($Q -c "SELECT count(*) FROM stream")
	R[$tag.ms]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e6}')
	R[$tag.dup]=$(grep -c 'duplicate key value violates unique constraint' "$W/stream-$tag.err" || true)
	R[$tag.other]=$(grep 'ERROR:' "$W/stream-$tag.err" | grep -vc 'duplicate key value' || true)
	R[$tag.reuses]=$(stat_sum reuses)
	# signed up / verified (error 0) / reused / with order id / with verified_at
	R[$tag.rows]=$($Q -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE (verification).error_code = 0),
	    count(*) FILTER (WHERE (verification).reason LIKE 'reused answer of%'),
	    count(verified_orderid), count(verified_at)
	  FROM signups WHERE realname IS NOT NULL")
	# the reused rows against the ledger row their reason names (ledger id N):
	# same order id, the original's transaction rolled back, verified_at
	R[$tag.orig]=$($Q -F ' ' -c "SELECT count(l.id), count(*) FILTER (WHERE l.orderid = s.verified_orderid),
	    count(*) FILTER (WHERE l.outcome = 'aborted'), count(*) FILTER (WHERE s.verified_at = l.billed_at)
	  FROM signups s LEFT JOIN juhe_ledger l
	    ON l.id = substring((s.verification).reason FROM 'ledger id ([0-9]+)')::bigint
	  WHERE (s.verification).reason LIKE 'reused answer of%'")
	if [ "${R[$tag.other]}" != 0 ]; then
		echo "stream $tag: ${R[$tag.other]} unexpected errors, the first ones (IDs masked):" >&2
		grep 'ERROR:' "$W/stream-$tag.err" | grep -v 'duplicate key value' | head -5 |
			sed -E 's/[0-9]{17}[0-9Xx]/******************/g' >&2
	fi
}
stream off 0 "$BASE_OFF"
stream on 1d "$BASE_ON"

# 2. reused against billed calls, one backend, blocks alternating
mock _reset POST >/dev/null
$Q -c "SELECT juhe_stats_reset()" >/dev/null
{
	echo "SET juhe.reuse_answers_for = '1d';"
	echo "SET juhe.max_requests_per_statement = 0;"
	# the pairs to be reused: billed once, in a statement of their own
	echo "SELECT count(juhe_verify(person_name(k), person_id(k))) FROM generate_series($BASE_R, $BASE_R + $M - 1) k;"
	echo "SELECT timed('warm', 0, $BASE_WARM + 100, $B, true);"
	for r in $(seq 1 "$ROUNDS"); do
		o=$(((r - 1) * B))
		echo "SELECT timed('reused', $r, $BASE_R + $o, $B, true);"
		echo "SELECT timed('billed', $r, $BASE_R + $o, $B, false);"
		echo "SELECT timed('miss', $r, $BASE_F + $o, $B, true);"
	done
} >"$W/part2.sql"
$Q -f "$W/part2.sql" >/dev/null
billed2=$(mock_field billed)
reuses2=$(stat_sum reuses)
declare -A med cnt reu bil
while read -r kind m c ru bl; do
	med[$kind]=$m
	cnt[$kind]=$c
	reu[$kind]=$ru
	bil[$kind]=$bl
done < <($Q -F ' ' -c "SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 4),
           count(*), count(*) FILTER (WHERE reused), count(*) FILTER (WHERE billed)
         FROM calls WHERE kind <> 'warm' GROUP BY kind")
for r in $(seq 1 "$ROUNDS"); do
	line=$($Q -F ' ' -c "SELECT
	    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'reused')::numeric, 4),
	    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'billed')::numeric, 4),
	    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE kind = 'miss')::numeric, 4)
	  FROM calls WHERE rnd = $r")
	read -r a b c <<<"$line"
	echo "round $r: reused $a ms, billed (reuse => false) $b ms, miss then billed $c ms per call (medians of $B)"
done

# the report
check() { [ "$1" = "$2" ] && echo "$1" || echo "$1 (expected $2: UNEXPECTED)"; }
fails=$((N / FAIL_EVERY))
inserts=$((N + fails))
echo
echo "juheid $COMMIT, PostgreSQL $("$PGBIN/pg_config" --version | awk '{print $2}'), gateway=${JUHEID_GATEWAY:-on}, mode $($Q -c "SHOW juhe.mode"), loopback mock, $(df -T "$W" | awk 'NR==2 {print $2}') file system"
echo "1. signup stream: $N people, $fails of them ($(calc "100 * $fails / $N" %.0f) %) first with a taken e-mail and retried: $inserts INSERTs ($(calc "100 * $fails / $inserts" %.0f) % fail), one transaction each"
for tag in off on; do
	read -r rows ok reused oid vat <<<"${R[$tag.rows]}"
	want_billed=$inserts want_reused=0
	[ "$tag" = on ] && want_billed=$N want_reused=$fails
	echo "   reuse $tag (juhe.reuse_answers_for = $([ "$tag" = on ] && echo "'1d'" || echo 0)): charges $(check "${R[$tag.billed]}" "$want_billed"), requests ${R[$tag.requests]};" \
		"unique violations $(check "${R[$tag.dup]}" "$fails"), other errors ${R[$tag.other]}"
	echo "      rows signed up $(check "$rows" "$N") (answered $ok, reused answers $(check "$reused" "$want_reused"), with order id $oid, with verified_at $vat); juhe_stats reuses ${R[$tag.reuses]}"
	if [ "$tag" = on ]; then
		read -r found same aborted at <<<"${R[$tag.orig]}"
		echo "      the reused answers' ledger rows: found $(check "$found" "$reused"), same order id $(check "$same" "$reused"), original transaction aborted $(check "$aborted" "$reused"), verified_at = its billed_at $at"
	fi
	echo "      wall time $(calc "${R[$tag.ms]} / $N" %.3f) ms per signup ($(calc "${R[$tag.ms]} / ${R[$tag.inserts]}" %.3f) ms per INSERT; ${R[$tag.ms]} ms in all)"
done
echo "   charges off/on: $(calc "${R[off.billed]} / ${R[on.billed]}") (expected $(calc "$inserts / $N")); per person: off $(calc "${R[off.billed]} / $N"), on $(calc "${R[on.billed]} / $N")"
echo "   wall time per signup off/on: $(calc "${R[off.ms]} / ${R[on.ms]}")"
echo "2. $M calls of each kind in $ROUNDS blocks of $B, alternating, one backend, juhe.reuse_answers_for = '1d':"
echo "   median per call: reused ${med[reused]} ms, billed (reuse => false) ${med[billed]} ms, miss then billed ${med[miss]} ms"
echo "   reused answers: reused calls $(check "${reu[reused]}" "$M"), billed calls $(check "${reu[billed]}" 0), misses $(check "${reu[miss]}" 0); answered (error 0): ${bil[reused]}, ${bil[billed]}, ${bil[miss]} of $M each"
echo "   mock charges in part 2: $(check "$billed2" $((3 * M + B))) ($M to bill the pairs, $B warm-up, $M billed, $M misses, 0 reused); juhe_stats reuses $reuses2"
echo "   ratio billed/reused: $(calc "${med[billed]} / ${med[reused]}" %.1f) (a reused answer costs $(calc "${med[reused]} / ${med[billed]} * 100" %.1f) % of a billed call); miss/billed: $(calc "${med[miss]} / ${med[billed]}") (difference $(calc "(${med[miss]} - ${med[billed]}) * 1000" %+.0f) us: the lookup that misses)"
