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
