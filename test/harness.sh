# test/harness.sh -- sourced by test/run-tests.sh and test/demo.sh.
#
# Starts a throw-away PostgreSQL 15 cluster (as the postgres user when run as
# root: PostgreSQL refuses to run as root) on a private port and socket
# directory, with juheid preloaded and pointed at the bundled mock service,
# which it also starts (plain HTTP and, with a throw-away self-signed
# certificate, HTTPS).  Everything listens on 127.0.0.1 or a private Unix
# socket and is stopped by PID in harness_stop.

: "${PGBIN:=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}"
HARNESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
# the mock service: the checkout's, or the installed juheid-mock
# (test/installed-check.sh sets JUHEID_MOCK=juheid-mock)
read -r -a JUHEID_MOCK_CMD <<<"${JUHEID_MOCK:-$PY $HARNESS_ROOT/mock/mock_juhe.py}"

JUHE_TEST_KEY=testkey0123456789abcdef0123456789
JUHE_TEST_OPENID=JHtestOpenId0001

HARNESS_DIR=""
MOCK_PID=""
PG_STARTED=""

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_for_file() {
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

harness_start() {
	HARNESS_DIR=$(mktemp -d /tmp/juheid-test.XXXXXX)
	chmod 755 "$HARNESS_DIR"

	# throw-away certificate for the HTTPS listener
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-addext "subjectAltName=IP:127.0.0.1" -days 2 \
		-keyout "$HARNESS_DIR/tls.key" -out "$HARNESS_DIR/tls.crt" 2>/dev/null
	chmod 644 "$HARNESS_DIR/tls.crt"

	"${JUHEID_MOCK_CMD[@]}" --port 0 \
		--port-file "$HARNESS_DIR/mock.port" \
		--tls-cert "$HARNESS_DIR/tls.crt" --tls-key "$HARNESS_DIR/tls.key" \
		--tls-port 0 --tls-port-file "$HARNESS_DIR/mock.tlsport" \
		--blackhole-port-file "$HARNESS_DIR/mock.blackhole" \
		--key "$JUHE_TEST_KEY" --openid "$JUHE_TEST_OPENID" \
		--slow-seconds 30 --quiet ${JUHEID_MOCK_ARGS:-} >"$HARNESS_DIR/mock.log" 2>&1 &
	MOCK_PID=$!
	wait_for_file "$HARNESS_DIR/mock.port" || return 1
	wait_for_file "$HARNESS_DIR/mock.tlsport" || return 1
	MOCK_PORT=$(cat "$HARNESS_DIR/mock.port")
	MOCK_TLS_PORT=$(cat "$HARNESS_DIR/mock.tlsport")

	# a resolver that never answers for one test-only host name
	cc -shared -fPIC -O2 -Wall -Werror -o "$HARNESS_DIR/hang_dns.so" \
		"$HARNESS_ROOT/test/preload/hang_dns.c" -ldl || return 1
	chmod 755 "$HARNESS_DIR/hang_dns.so"

	PGPORT=$(free_port)
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$HARNESS_DIR"
	fi
	as_pg "$PGBIN/initdb" -D "$HARNESS_DIR/data" -U postgres -A trust \
		-E UTF8 --no-locale >"$HARNESS_DIR/initdb.log" 2>&1 || {
		cat "$HARNESS_DIR/initdb.log" >&2
		return 1
	}
	local pubkey
	pubkey=$(tr -d '\n' <"$HARNESS_ROOT/mock/keys/test_rsa_public.b64")
	cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$HARNESS_DIR'
shared_preload_libraries = 'juheid'
max_connections = 20
fsync = off
juhe.base_url = 'http://127.0.0.1:$MOCK_PORT'
juhe.key = '$JUHE_TEST_KEY'
juhe.openid = '$JUHE_TEST_OPENID'
juhe.digest_key = 'regress-digest-key-0123456789abcdef0123456789'
juhe.rsa_public_key = '$pubkey'
juhe.timeout_ms = 3000
juhe.connect_timeout_ms = 1000
juhe.gateway = ${JUHEID_GATEWAY:-on}
CONF
	as_pg env LD_PRELOAD="$HARNESS_DIR/hang_dns.so" \
		"$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -l "$HARNESS_DIR/postgres.log" \
		-w start >/dev/null || {
		cat "$HARNESS_DIR/postgres.log" >&2
		return 1
	}
	PG_STARTED=1
	PGHOST=$HARNESS_DIR
	PGUSER=postgres
	export PGHOST PGPORT PGUSER MOCK_PORT MOCK_TLS_PORT HARNESS_DIR
	export JUHE_MOCK_URL="http://127.0.0.1:$MOCK_PORT"
	export JUHE_MOCK_TLS_URL="https://127.0.0.1:$MOCK_TLS_PORT"
	export JUHE_TEST_CA="$HARNESS_DIR/tls.crt"
}

harness_stop() {
	if [ -n "$PG_STARTED" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" -m fast -w stop >/dev/null 2>&1
		PG_STARTED=""
	fi
	if [ -n "$MOCK_PID" ]; then
		kill "$MOCK_PID" 2>/dev/null
		wait "$MOCK_PID" 2>/dev/null
		MOCK_PID=""
	fi
	if [ -n "$HARNESS_DIR" ] && [ -z "${JUHEID_KEEP_TMP:-}" ]; then
		rm -rf "$HARNESS_DIR"
	fi
}

# extra settings the regression tests read with current_setting()
harness_test_settings() {
	mkdir -p "$HARNESS_DIR/keys"
	cp "$HARNESS_ROOT"/mock/keys/test_rsa_public* "$HARNESS_DIR/keys/"
	chmod -R a+rX "$HARNESS_DIR/keys"
	cat >>"$HARNESS_DIR/data/postgresql.conf" <<CONF
juhe_test.tls_url = '$JUHE_MOCK_TLS_URL'
juhe_test.ca_file = '$JUHE_TEST_CA'
juhe_test.blackhole_url = 'http://127.0.0.1:$(cat "$HARNESS_DIR/mock.blackhole")'
juhe_test.hang_dns_url = 'http://hang.juheid.test:$MOCK_PORT'
juhe_test.keys_dir = '$HARNESS_DIR/keys'
juhe_test.log_file = '$HARNESS_DIR/postgres.log'
CONF
	as_pg "$PGBIN/pg_ctl" -D "$HARNESS_DIR/data" reload >/dev/null
	sleep 0.5
}

# the pg_regress suites (sql/, test/schedule) against the installed juheid,
# in a cluster and mock of their own (juhe.gateway = $JUHEID_GATEWAY),
# stopped afterwards: harness_suites TAG PG_CONFIG LOGPREFIX.  Prints one
# line per test; sets REG_OK and REG_FAIL (a cluster that did not start
# counts as one failure).
harness_suites() {
	local tag=$1 pgc=$2 log=$3.log
	REG_OK=0
	REG_FAIL=0
	if ! harness_start; then
		echo "  [$tag] could not start the cluster or the mock"
		REG_FAIL=1
		harness_stop
		return
	fi
	harness_test_settings
	echo "  [$tag] pg_regress (cluster on port $PGPORT, mock on $MOCK_PORT)"
	(cd "$HARNESS_ROOT" && rm -rf results regression.diffs regression.out &&
		make -s installcheck TAP_TESTS= PG_CONFIG="$pgc" PGHOST="$PGHOST" PGPORT="$PGPORT" \
			PGUSER=postgres) >"$log" 2>&1
	grep -E '\.\.\. |^(ok|not ok) ' "$log" | sed "s/^/  [$tag] /"
	# pg_regress prints "test x ... ok" up to 15, TAP lines ("ok 1 - x") from 16
	REG_OK=$(grep -cE '\.\.\. ok|^ok ' "$log")
	REG_FAIL=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok ' "$log")
	if ! grep -qE '\.\.\. |^(ok|not ok) ' "$log"; then
		cat "$log"
		REG_FAIL=$((REG_FAIL + 1))
	fi
	if [ -s "$HARNESS_ROOT/regression.diffs" ]; then
		cat "$HARNESS_ROOT/regression.diffs"
		cp "$HARNESS_ROOT/regression.diffs" "$3.diffs"
	fi
	harness_stop
}

# the suites once per JUHEID_GATEWAYS entry (default "on off"), each in a
# cluster of its own: harness_suites_gateways TAG PG_CONFIG LOGPREFIX.
# Adds to passed and failed (test/lib.sh).
harness_suites_gateways() {
	local gw
	for gw in ${JUHEID_GATEWAYS:-on off}; do
		export JUHEID_GATEWAY=$gw
		harness_suites "$1 gateway=$gw" "$2" "$3-$gw"
		passed=$((passed + REG_OK))
		failed=$((failed + REG_FAIL))
	done
}
