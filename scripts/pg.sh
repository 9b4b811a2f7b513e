#!/usr/bin/env bash
# The project's private PostgreSQL cluster, used when DATABASE_URL is not set.
#   scripts/pg.sh start      create (initdb) and start it; idempotent
#   scripts/pg.sh url [DB]   print the owner's URL for database DB (default: digimed)
#   scripts/pg.sh stop       stop it
#   scripts/pg.sh destroy    stop it and remove its data (the cluster is made anew on `start`)
# Data lives in .pgdata/ and the socket in .run/pg/ (both ignored by git); it listens on no TCP
# port. The owner `digimed` is trusted on the socket; every other login (staff) needs its password.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port=5432
# The cluster lives in the checkout unless the postgres system user cannot enter it (or the
# socket path would be too long); then in a folder of its own under /var/tmp, named after it.
home="$root"
if { [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; } || [ ${#root} -gt 80 ]; then
    home="/var/tmp/digimed-pg-$(printf '%s' "$root" | sha1sum | cut -c1-12)"
    mkdir -p "$home"
    chmod 755 "$home"
fi
data="$home/.pgdata"
sock="$home/.run/pg"

pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$pgbin" ] || { echo "error: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# PostgreSQL refuses to run as root; as root, run it as the `postgres` system user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() {
    echo "postgres://digimed@localhost:${port}/${1:-digimed}?host=${sock}"
}

start() {
    mkdir -p "$home/.run"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data" "$sock"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" "$sock"
        chmod 700 "$data"
        as_pg "$pgbin/initdb" -D "$data" -U digimed -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=reject >/dev/null
        cat > "$data/pg_hba.conf.new" <<'HBA'
# TYPE  DATABASE  USER     ADDRESS  METHOD
local   all       digimed           trust
local   all       all               scram-sha-256
HBA
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$data/pg_hba.conf.new"
        mv "$data/pg_hba.conf.new" "$data/pg_hba.conf"
        cat >> "$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
max_connections = 300
synchronous_commit = off
shared_buffers = 256MB
password_encryption = scram-sha-256
CONF
    fi
    mkdir -p "$sock"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$sock"
    if ! as_pg "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
    fi
    if ! "$pgbin/psql" "$(url postgres)" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'digimed'" | grep -q 1; then
        "$pgbin/psql" "$(url postgres)" -qc "CREATE DATABASE digimed" >/dev/null
    fi
}

case "${1:-}" in
    start) start; url digimed ;;
    url) url "${2:-digimed}" ;;
    stop) as_pg "$pgbin/pg_ctl" -D "$data" -m fast stop ;;
    destroy)
        if as_pg "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then as_pg "$pgbin/pg_ctl" -D "$data" -m fast stop >/dev/null; fi
        rm -rf "$data" "$home/.run/pg"
        ;;
    *) echo "usage: scripts/pg.sh start|url [DB]|stop|destroy" >&2; exit 2 ;;
esac
