#!/bin/bash
# bench/ledger_cost.sh -- what the ledger costs per billed answer, now
# that it travels with the WAL.
#
# Builds two juheid's into two copies of one PostgreSQL installation
# (PG_PREFIX, default the PostgreSQL 18 the test command builds): this
# tree's, and the release before the ledger was WAL-logged (BASE_REF,
# default 820134b: the ledger only a file).  Starts the mock
# (test/harness.sh), a cluster of each, and a streaming standby of this
# tree's cluster, all with fsync = on and juhe.ledger_sync = on (the
# default), and times N billed calls, one transaction each (a procedure
# that COMMITs after every call, like an application in autocommit), in
# three configurations, alternating block by block, ROUNDS times, in one
# run:
#
#   file only         BASE_REF: a "sent" and a result record appended and
#                     fdatasync'd; nothing in the WAL but the xid record
#   WAL-logged        this tree, no synchronous standby: each record also
#                     WAL-logged, and the WAL flushed before the request
#                     goes out and before the answer returns
#   + sync standby    the same cluster with synchronous_standby_names = '*'
#                     (the standby streams on loopback): each flush also
#                     waits for the standby
#
# Every configuration also pays the calling transaction's commit and the
# small WAL record that makes its xid durable.  Prints the median time per
# call of each configuration and the ratios to "file only".  The mock
# answers on loopback: against the real service add its round trip (tens
# of milliseconds), which dwarfs all of this.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300}
ROUNDS=${ROUNDS:-5}
PG_PREFIX=${PG_PREFIX:-/var/cache/juheid/pg18}
BASE_REF=${BASE_REF:-820134b}
export JUHEID_GATEWAY=off
[ -x "$PG_PREFIX/bin/pg_config" ] || {
	echo "no PostgreSQL at PG_PREFIX=$PG_PREFIX (bash test/run-tests.sh builds one)" >&2
	exit 1
}
ROOT=$PWD
W=$(mktemp -d /tmp/juheid-ledger-cost.XXXXXX)
chmod 755 "$W"

# two installations, two builds
for v in old new; do
	cp -a "$PG_PREFIX" "$W/pg-$v"
	mkdir "$W/src-$v"
done
git archive "$BASE_REF" | tar -x -C "$W/src-old"
git archive HEAD | tar -x -C "$W/src-new"
for v in old new; do
	make -s -C "$W/src-$v" PG_CONFIG="$W/pg-$v/bin/pg_config" install >"$W/build-$v.log" 2>&1 || {
		cat "$W/build-$v.log" >&2
		exit 1
	}
done
chown -R postgres: "$W" 2>/dev/null || true

PGBIN=$W/pg-new/bin
. test/harness.sh
. bench/lib.sh
STANDBY_PORT=""
OLD_PORT=""
cleanup() {
	for d in "$W/old" "$W/standby"; do
		[ -f "$d/postmaster.pid" ] && as_pg "$W/pg-new/bin/pg_ctl" -D "$d" -w -m immediate stop >/dev/null 2>&1
	done
	harness_stop
	rm -rf "$W"
}
trap cleanup EXIT
harness_start >/dev/null
NEW_PORT=$PGPORT
cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
fsync = on
wal_level = replica
max_wal_senders = 4
CONF
echo "local replication postgres trust" >>"$HARNESS_DIR/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" -w restart >/dev/null

# the streaming standby of the new cluster
STANDBY_PORT=$(free_port)
as_pg "$PGBIN/pg_basebackup" -h "$HARNESS_DIR" -p "$NEW_PORT" -U postgres -D "$W/standby" -R -X stream >/dev/null
cat >>"$W/standby/postgresql.conf" <<CONF
port = $STANDBY_PORT
cluster_name = 'standby'
CONF
as_pg "$PGBIN/pg_ctl" -D "$W/standby" -l "$W/standby.log" -w start >/dev/null

# the old release's cluster, configured like the new one
OLD_PORT=$(free_port)
as_pg "$W/pg-old/bin/initdb" -D "$W/old" -U postgres -A trust -E UTF8 --no-locale >/dev/null
grep -vE '^(port|wal_level|max_wal_senders) ' "$HARNESS_DIR/data/postgresql.conf" |
	sed -n '/^listen_addresses/,$p' >>"$W/old/postgresql.conf"
echo "port = $OLD_PORT" >>"$W/old/postgresql.conf"
as_pg "$W/pg-old/bin/pg_ctl" -D "$W/old" -l "$W/old.log" -w start >/dev/null

setup=$(
	cat <<'SQL'
CREATE EXTENSION juheid;
CREATE PROCEDURE calls(n int, tag int) LANGUAGE plpgsql AS $$
BEGIN
  FOR g IN 1..n LOOP
    -- a different name each time: a billed mismatch, never a memo hit
    PERFORM juhe_verify('测' || chr(19968 + (tag * n + g) % 20000), '11010519491231002X');
    COMMIT;
  END LOOP;
END $$;
SQL
)
psql -X -q -p "$OLD_PORT" -d postgres -c "$setup"
psql -X -q -p "$NEW_PORT" -d postgres -c "$setup"

sync_standby() {
	psql -X -q -p "$NEW_PORT" -d postgres -c "ALTER SYSTEM SET synchronous_standby_names = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
	local want=async
	[ -n "$1" ] && want=sync
	for _ in $(seq 1 100); do
		[ "$(psql -X -At -p "$NEW_PORT" -d postgres -c "SELECT sync_state FROM pg_stat_replication")" = "$want" ] && return 0
		sleep 0.1
	done
	echo "the standby did not become $want" >&2
	return 1
}

# time one block of N calls on a port; prints ms per call
block() {
	local port=$1 tag=$2 t0 t1
	t0=$(date +%s%N)
	psql -X -q -p "$port" -d postgres -c "SET juhe.retries = 0" -c "CALL calls($N, $tag)"
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.4f\n", (b - a) / 1e6 / n}'
}

declare -a old new syn
tag=0
block "$OLD_PORT" $((tag += 1)) >/dev/null	# warm-up
block "$NEW_PORT" $((tag += 1)) >/dev/null
for r in $(seq 1 "$ROUNDS"); do
	old+=("$(block "$OLD_PORT" $((tag += 1)))")
	sync_standby ''
	new+=("$(block "$NEW_PORT" $((tag += 1)))")
	sync_standby '*'
	syn+=("$(block "$NEW_PORT" $((tag += 1)))")
	echo "round $r: file only ${old[-1]} ms, WAL-logged ${new[-1]} ms, + sync standby ${syn[-1]} ms per call"
done
sync_standby ''

mo=$(median "${old[@]}")
mn=$(median "${new[@]}")
ms=$(median "${syn[@]}")
rows_p=$(psql -X -At -p "$NEW_PORT" -d postgres -c "SELECT count(*) FROM juhe_ledger")
psql -X -q -p "$NEW_PORT" -d postgres -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do
	rows_s=$(psql -X -At -p "$STANDBY_PORT" -d postgres -c "SELECT count(*) FROM juhe_ledger")
	[ "$rows_s" = "$rows_p" ] && break
	sleep 0.1
done
echo
echo "PostgreSQL $("$PGBIN/pg_config" --version | awk '{print $2}'), gateway=off, $N calls a block, $ROUNDS rounds, fsync = on, juhe.ledger_sync = on, $(df -T "$W" | awk 'NR==2 {print $2}') file system"
echo "median per call: file only ($BASE_REF) $mo ms, WAL-logged $mn ms, + synchronous standby $ms ms"
echo "ratio to file only: WAL-logged $(calc "$mn / $mo"), + synchronous standby $(calc "$ms / $mo")"
echo "cost per billed answer over file only: WAL-logged $(calc "($mn - $mo) * 1000") us, + synchronous standby $(calc "($ms - $mo) * 1000") us"
echo "ledger rows: primary $rows_p, standby $rows_s (replayed)"
