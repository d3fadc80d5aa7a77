#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and local trials.
#
#   Tools/pg-cluster.sh start DIR [tls]   initdb + pg_ctl start on a free loopback port; prints the
#                                    superuser URL (postgres://rstore:PASSWORD@127.0.0.1:PORT/postgres).
#                                    With `tls`, the server also speaks TLS with a self-signed
#                                    certificate for 127.0.0.1 (DIR/server.crt, the root a client
#                                    trusts; DIR/other.crt is an unrelated one, for refusals).
#   Tools/pg-cluster.sh signal DIR STOP|CONT   stops (or resumes) every process of the cluster
#                                    (tests of a database that stops answering)
#   Tools/pg-cluster.sh createdb DIR NAME    creates database NAME in the cluster of DIR
#   Tools/pg-cluster.sh psql DIR NAME SQL    runs SQL in database NAME (tests: foreign tables, killed connections)
#   Tools/pg-cluster.sh stop DIR     stops the cluster and removes DIR
#
# PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` OS
# user (DIR is handed to it). Password authentication (scram) even on loopback, so the tests
# of a wrong password are real. Exit 3 when the PostgreSQL binaries are absent.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|createdb|psql|signal|stop DIR [...]" >&2; exit 2; }

bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin=$d; done
fi
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package" >&2; exit 3; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pwfile"
    ssl_opts=""
    if [ "${3:-}" = "tls" ]; then
        for name in server other; do
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rstore-test-$name" \
                -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
                -keyout "$dir/$name.key" -out "$dir/$name.crt" >/dev/null 2>&1 \
                || { echo "openssl could not make a test certificate" >&2; exit 1; }
        done
        chmod 600 "$dir/server.key"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/server.key" "$dir/server.crt"
        ssl_opts="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U rstore --pwfile="$dir/pwfile" -A scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # A free port: bind port 0 and read what the kernel gave (a race with another binder is
    # caught by pg_ctl failing, and we try again).
    for attempt in 1 2 3 4 5; do
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        # The server must not inherit our caller's descriptors (a test runner watches a socket
        # of its child to learn that the child exited: a daemon holding it would hide the exit).
        if ( for f in /proc/$BASHPID/fd/*; do fd=${f##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
             as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
               -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off $ssl_opts" start >/dev/null 2>&1 ); then
            echo "$port" > "$dir/port"
            echo "postgres://rstore:$password@127.0.0.1:$port/postgres"
            exit 0
        fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
createdb)
    name=${3:?database name}
    PGPASSWORD=$(cat "$dir/pwfile") "$bin/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U rstore "$name"
    ;;
psql)
    name=${3:?database name}; sql=${4:?sql}
    PGPASSWORD=$(cat "$dir/pwfile") "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(cat "$dir/port")" -U rstore -d "$name" -c "$sql"
    ;;
signal)
    sig=${3:?STOP or CONT}
    main=$(head -1 "$dir/data/postmaster.pid")
    # The postmaster and its children (backends, checkpointer, ...), each by its id.
    for pid in $main $(ps -o pid= --ppid "$main"); do
        kill -"$sig" "$pid" 2>/dev/null || true
    done
    ;;
stop)
    if [ -d "$dir/data" ]; then
        # A stopped cluster (signal STOP) cannot act on pg_ctl's request: resume it first.
        [ -f "$dir/data/postmaster.pid" ] && "$0" signal "$dir" CONT
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "unknown command $cmd" >&2; exit 2 ;;
esac
