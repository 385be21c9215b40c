#!/bin/sh
# Run this suite against the installed juheid (postgresql-15-juheid) and
# the installed mock (juheid-mock): starts the mock on 127.0.0.1, then a
# throw-away cluster with pg_virtualenv (Debian's postgresql-common) with
# juheid preloaded and pointed at the mock, and runs `make installcheck`
# in it.  Stops the mock by PID when done.
#   ./run.sh [PostgreSQL major version, default 15]
set -eu
cd "$(dirname "$0")"
v=${1:-15}
tmp=$(mktemp -d)
mock_pid=
cleanup() {
	[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

juheid-mock --port 0 --port-file "$tmp/port" --pid-file "$tmp/pid" --quiet &
mock_pid=$!
i=0
until [ -s "$tmp/port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "juheid-mock did not start" >&2; exit 1; }
	sleep 0.1
done
mock_url=http://127.0.0.1:$(cat "$tmp/port")

# the mock accepts its test key and openid (juheid-mock --help)
pg_virtualenv -v "$v" \
	-o "shared_preload_libraries=juheid" \
	-o "juhe.base_url=$mock_url" \
	-o "juhe.key=testkey0123456789abcdef0123456789" \
	-o "juhe.openid=JHtestOpenId0001" \
	make installcheck PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config"
