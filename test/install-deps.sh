#!/bin/bash
# test/install-deps.sh -- Debian 12 packages needed to build, test and demo
# juheid.  Run as root.  Only Debian's archive is used.
set -euo pipefail
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	libcurl4-openssl-dev libjson-c-dev libssl-dev openssl curl
	python3 python3-cryptography python3-stdnum ca-certificates libipc-run-perl
	postgresql-15-cron
	dpkg-dev debhelper fakeroot postgresql-server-dev-all autopkgtest man-db debootstrap lintian
	python3-psycopg2 python3-psycopg python3-psycopg-pool
	libpostgresql-jdbc-java libhikaricp-java openjdk-17-jdk-headless
	pgbouncer prometheus-postgres-exporter prometheus)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the client recipes (examples/clients) also need Node.js with npm (the
# node-postgres example is installed from the npm registry by its lock
# file); Debian's nodejs and npm, unless a Node.js is already installed
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: Node.js and npm are missing (run as root)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# Debian's postgresql package may create and start a default cluster; we
# never use it (our clusters are private), so it is left alone.
