#!/bin/bash
# bench/ledger_cost.sh -- what the ledger costs per billed answer.
#
# Starts the throw-away cluster and the mock (test/harness.sh) with
# fsync = on, and times N billed calls, one transaction each (a procedure
# that COMMITs after every call, like an application in autocommit), in
# three configurations, alternating, ROUNDS times, in one run:
#
#   no ledger I/O     the ledger file is a symlink to /dev/null and
#                     juhe.ledger_sync = off: the records are built and
#                     "written" but reach no file; the baseline
#   ledger_sync=off   records written to the file (page cache), not synced
#   ledger_sync=on    the default: "sent" records synced before a request
#                     goes out, results synced before the answer returns
#                     (fdatasync, grouped per wave of requests)
#
# With juhe.gateway = off (the default here) every block runs in a new
# backend, which opens the ledger file at its first record, so the three
# configurations alternate block by block without a restart (the file is
# swapped for the symlink between blocks).  With JUHEID_GATEWAY=on the
# worker keeps its file open, so the baseline blocks need a restart each.
#
# Every configuration still makes the calling transaction's xid durable
# (one small WAL record and flush for the first request of a transaction)
# and pays its commit; those are part of every call here.  Prints the
# median time per call of each configuration and the ratios to the
# baseline.  The mock answers on loopback: against the real service add
# its round trip (tens of milliseconds), which dwarfs all of this.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-500}
ROUNDS=${ROUNDS:-5}
JUHEID_GATEWAY=${JUHEID_GATEWAY:-off}
export JUHEID_GATEWAY
. test/harness.sh
. bench/lib.sh
trap harness_stop EXIT
harness_start >/dev/null
echo "fsync = on" >>"$HARNESS_DIR/data/postgresql.conf"
LEDGER=$HARNESS_DIR/data/juheid/ledger

restart() {
	as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" -w restart >/dev/null
}
stop() { [ "$JUHEID_GATEWAY" = on ] && as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -w stop >/dev/null || true; }
start() {
	[ "$JUHEID_GATEWAY" = on ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" -w start >/dev/null
}
use_devnull() {
	stop
	[ -L "$LEDGER" ] || mv "$LEDGER" "$LEDGER.real"
	as_pg ln -sf /dev/null "$LEDGER"
	start
}
use_file() {
	stop
	if [ -L "$LEDGER" ]; then
		rm -f "$LEDGER"
		mv "$LEDGER.real" "$LEDGER"
	fi
	start
}

restart
psql -X -q -d postgres <<'SQL'
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

# time one block of N calls; prints ms per call
block() {
	local sync=$1 tag=$2 t0 t1
	t0=$(date +%s%N)
	psql -X -q -d postgres -c "SET juhe.retries = 0" -c "SET juhe.ledger_sync = $sync" \
		-c "CALL calls($N, $tag)"
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.4f\n", (b - a) / 1e6 / n}'
}

declare -a base off on
tag=0
block on $((tag += 1)) >/dev/null	# warm-up
for r in $(seq 1 "$ROUNDS"); do
	use_devnull
	base+=("$(block off $((tag += 1)))")
	use_file
	off+=("$(block off $((tag += 1)))")
	on+=("$(block on $((tag += 1)))")
	echo "round $r: no ledger I/O ${base[-1]} ms, ledger_sync=off ${off[-1]} ms, ledger_sync=on ${on[-1]} ms per call"
done

mb=$(median "${base[@]}")
mf=$(median "${off[@]}")
mo=$(median "${on[@]}")
records=$(psql -X -At -d postgres -c "SELECT count(*) FROM juhe_ledger")
echo
echo "gateway=$JUHEID_GATEWAY, $N calls a block, $ROUNDS rounds, fsync = on, $(df -T "$HARNESS_DIR" | awk 'NR==2 {print $2}') file system"
echo "median per call: no ledger I/O $mb ms, ledger_sync=off $mf ms, ledger_sync=on $mo ms"
echo "ratio to no ledger I/O: ledger_sync=off $(calc "$mf / $mb"), ledger_sync=on $(calc "$mo / $mb")"
echo "cost per billed answer: ledger_sync=off $(calc "($mf - $mb) * 1000") us, ledger_sync=on $(calc "($mo - $mb) * 1000") us"
echo "(the ledger now holds $records billed rows from the file-backed blocks)"
