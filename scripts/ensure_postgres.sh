#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with a database `test` that the role
# `root` reaches without a password (the URL the ledger tests use:
# postgresql+psycopg://root@127.0.0.1:5432/test). Used by CI before the tests.
#
# Idempotent: if the server already answers, it only checks (and if needed creates) the role and
# the database. Otherwise it installs Debian's `postgresql` package, creates/starts the `main`
# cluster without systemd, allows trust auth from 127.0.0.1 and creates the role and database.
# Needs root (or passwordless sudo) for the install branch. Prints every step it takes.
set -euo pipefail

HOST=127.0.0.1
PORT=${ENSURE_PG_PORT:-5432}
DB=${ENSURE_PG_DB:-test}
ROLE=${ENSURE_PG_ROLE:-root}

say() { echo "ensure_postgres: $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        say "need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres "$@"
    fi
}

server_answers() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT"
}

test_db_answers() {
    command -v psql >/dev/null 2>&1 \
        && psql -h "$HOST" -p "$PORT" -U "$ROLE" -d "$DB" -w -Atqc 'select 1' >/dev/null 2>&1
}

if test_db_answers; then
    say "server on $HOST:$PORT answers as $ROLE@$DB; nothing to do"
    exit 0
fi

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres \
    >/dev/null 2>&1; then
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq postgresql
fi

# the newest installed server version, e.g. 15
VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
say "PostgreSQL server version $VERSION"

if ! server_answers; then
    if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$VERSION main"; then
        say "creating cluster $VERSION/main on port $PORT"
        as_root pg_createcluster --port "$PORT" "$VERSION" main
    fi
    say "starting cluster $VERSION/main (no systemd)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
    for _ in $(seq 1 30); do
        server_answers && break
        sleep 1
    done
    if ! server_answers; then
        say "server did not come up on $HOST:$PORT" >&2
        pg_lsclusters >&2 || true
        exit 1
    fi
else
    say "server already answers on $HOST:$PORT"
fi

# trust auth for local TCP connections, first match wins so the line goes on top
HBA=$(as_postgres psql -p "$PORT" -Atqc 'show hba_file')
if ! as_root grep -Eq "^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust" \
    "$HBA"; then
    say "allowing trust auth from 127.0.0.1 in $HBA"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$HBA"
    as_postgres psql -p "$PORT" -Atqc 'select pg_reload_conf()' >/dev/null
fi

if [ "$(as_postgres psql -p "$PORT" -Atqc "select 1 from pg_roles where rolname = '$ROLE'")" != 1 ]
then
    say "creating superuser role $ROLE"
    as_postgres createuser -p "$PORT" --superuser "$ROLE"
fi

if [ "$(as_postgres psql -p "$PORT" -Atqc "select 1 from pg_database where datname = '$DB'")" != 1 ]
then
    say "creating database $DB owned by $ROLE"
    as_postgres createdb -p "$PORT" -O "$ROLE" "$DB"
fi

if test_db_answers; then
    say "ready: postgresql://$ROLE@$HOST:$PORT/$DB"
else
    say "still cannot connect as $ROLE@$HOST:$PORT/$DB" >&2
    exit 1
fi
