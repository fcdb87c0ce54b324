# Shared install steps for scripts/test, scripts/demo and scripts/bench. Source it; each step is a
# no-op when its part is already present, so a warm machine pays nothing.

MOTO_VERSION="5.2.1"

log() { echo "==> $*" >&2; }

# apt packages, installed only when dpkg does not already list them.
ensure_apt_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]} (apt)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# moto_server, the local S3/IAM/CloudTrail the tests talk to, at the pinned version.
ensure_moto() {
    if python3 -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
        && command -v moto_server >/dev/null 2>&1; then
        return 0
    fi
    log "installing moto[server]==$MOTO_VERSION (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

# A pip package, installed only when its module or command is missing. Usage: ensure_pip_package SPEC COMMAND
ensure_pip_package() {
    command -v "$2" >/dev/null 2>&1 && return 0
    log "installing $1 (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "$1"
}

# A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl as the postgres user (the
# server refuses to run as root), on a free loopback port, in a temporary directory; stopped and
# removed when the calling script exits. Exports RECOPS_TEST_POSTGRES_URL. fsync is off: the
# tests kill recops, never the database (a durability test of the database itself needs it on).
# PG_DURABLE=1 keeps PostgreSQL's defaults (fsync, synchronous_commit): for benchmarks.
start_postgres() {
    ensure_apt_packages postgresql
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    PG_DIR=$(mktemp -d /tmp/recops-pg.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && durability=""
    local run=(env)
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$PG_DIR"
        run=(runuser -u postgres --)
    fi
    # Password authentication over TCP (as in production), so a wrong password can be tested.
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    echo "$password" >"$PG_DIR/pwfile"
    chmod 0644 "$PG_DIR/pwfile"
    log "starting PostgreSQL on 127.0.0.1:$port ($PG_DIR)"
    "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$PG_DIR/pwfile" \
        -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 $durability" start >/dev/null \
        || { cat "$PG_DIR/log" >&2; return 1; }
    PG_BIN="$bin"
    PG_RUN=("${run[@]}")
    trap stop_postgres EXIT
    rm -f "$PG_DIR/pwfile"
    export RECOPS_TEST_POSTGRES_URL="postgres://postgres:$password@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_postgres() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# The project's spec as moto can hold it, written to $1 (the scripts' twin of RecopsTesting's
# motoCompatible and MotoGaps): moto cannot evaluate bucket-policy conditions (it treats the two
# Deny statements' conditions as matching every request and would refuse every object write and
# read), and it forgets a lifecycle filter's ObjectSizeGreaterThan (an apply could never read
# min_object_size back). On AWS keep infra/policy.yaml as it is.
moto_spec() {
    without_size_filter <infra/policy.yaml | sed -e 's/deny_insecure_transport: true/deny_insecure_transport: false/' \
        -e 's/deny_public_acls: true/deny_public_acls: false/' >"$1"
}

# A spec on standard input with its lifecycle size filters commented out (every line keeps its number).
without_size_filter() {
    sed -e 's/^\( *\)\(min_object_size: .*\)$/\1# \2 (moto forgets the size filter)/'
}
