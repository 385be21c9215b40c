#!/bin/bash
# examples/clients/run.sh -- the client programs (psycopg2, psycopg 3 +
# psycopg_pool, node-postgres, pgJDBC + HikariCP) against a throw-away
# cluster with juheid preloaded and the mock Juhe service (test/harness.sh,
# gateway on), each output compared with <client>/expected.out.
#   bash examples/clients/run.sh [PG_CONFIG] [client ...]
# clients: psycopg2 psycopg3 node jdbc (default: all).  PG_CONFIG defaults
# to /usr/lib/postgresql/15/bin/pg_config; juheid must be installed there.
# Prints "ok - <client>" or "not ok - <client>" with the differences, and
# last "N passed, N failed".  As root the cluster runs as postgres; the
# clients run as the caller and connect over TCP on 127.0.0.1.
# JUHEID_KEEP_TMP=1 keeps the cluster's and the clients' directories
# (outputs, stderr) in /tmp.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

pg_config=/usr/lib/postgresql/15/bin/pg_config
if [ $# -gt 0 ] && [ -x "$1" ] && [ ! -d "$1" ]; then
	pg_config=$1
	shift
fi
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(psycopg2 psycopg3 node jdbc)
PGBIN=$("$pg_config" --bindir) || exit 1
export PGBIN JUHEID_GATEWAY=on

. "$root/test/lib.sh"
. "$root/test/harness.sh"

work=$(mktemp -d /tmp/juheid-clients.XXXXXX)
cleanup() {
	harness_stop
	[ -n "${JUHEID_KEEP_TMP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! harness_start; then
	bad "cluster and mock start"
	summary
	exit
fi
harness_test_settings
# pgJDBC speaks TCP only: listen on 127.0.0.1 too (the harness listens on
# its socket only).  The restart drops the harness's hang_dns preload, which
# only the regression suites use.
echo "listen_addresses = '127.0.0.1'" >>"$HARNESS_DIR/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" -w restart >/dev/null || {
	cat "$HARNESS_DIR/postgres.log"
	bad "cluster restart with TCP"
	summary
	exit
}

# the schema, as the postgres superuser over the harness's socket
if ! { "$PGBIN/psql" -X -q -d postgres -c 'CREATE DATABASE shop' &&
	"$PGBIN/psql" -X -q -d shop -v ON_ERROR_STOP=1 -f "$here/schema.sql"; } >"$work/schema.log" 2>&1; then
	cat "$work/schema.log"
	bad "schema"
	summary
	exit
fi

mock_requests() {
	/usr/bin/python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_stats"))["requests"])' "$JUHE_MOCK_URL"
}

jars=(/usr/share/java/postgresql.jar /usr/share/java/HikariCP.jar
	/usr/share/java/slf4j-api.jar /usr/share/java/slf4j-nop.jar)
classpath=$(
	IFS=:
	echo "${jars[*]}"
)

# prepare NAME: build what the client needs; sets cmd to the program
prepare() {
	case $1 in
	psycopg2 | psycopg3)
		cmd=(/usr/bin/python3 "$here/$1/signup.py")
		;;
	node)
		(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error) || return
		cmd=(node "$here/node/signup.js")
		;;
	jdbc)
		local j
		for j in "${jars[@]}"; do
			[ -r "$j" ] || {
				echo "missing $j (Debian libpostgresql-jdbc-java, libhikaricp-java, libslf4j-java)"
				return 1
			}
		done
		mkdir -p "$work/classes" &&
			javac -d "$work/classes" -cp "$classpath" "$here/jdbc/Signup.java" || return
		cmd=(java -cp "$work/classes:$classpath" Signup)
		;;
	*)
		echo "unknown client $1"
		return 1
		;;
	esac
}

for c in "${clients[@]}"; do
	if ! prepare "$c" >"$work/$c.prepare" 2>&1; then
		bad "$c (could not prepare it)"
		sed 's/^/    /' "$work/$c.prepare"
		continue
	fi
	# an empty users table and fresh mock counters for each client
	"$PGBIN/psql" -X -q -d shop -c 'TRUNCATE users' >/dev/null
	/usr/bin/python3 -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", method="POST"))' "$JUHE_MOCK_URL"
	# the client connects over TCP and chooses its roles itself
	env -u PGUSER PGHOST=127.0.0.1 PGPORT="$PGPORT" PGDATABASE=shop \
		timeout 300 "${cmd[@]}" >"$work/$c.out" 2>"$work/$c.err"
	st=$?
	# the runner's own line: how many requests reached the mock (a request
	# sent twice, by juheid or by the program, would show here)
	echo "== run.sh: $(mock_requests) requests reached the mock" >>"$work/$c.out"
	if [ $st -eq 0 ] && diff -u "$here/$c/expected.out" "$work/$c.out" >"$work/$c.diff" 2>&1; then
		ok "$c"
	else
		if [ $st -eq 0 ]; then bad "$c"; else bad "$c (exit status $st)"; fi
		sed 's/^/    /' "$work/$c.diff"
		sed 's/^/    stderr: /' "$work/$c.err"
	fi
done
summary
