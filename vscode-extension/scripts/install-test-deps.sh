#!/usr/bin/env bash
# Installs what `npm test` needs, and skips each part that is already there:
#   - Debian packages: chromium for the browser, ripgrep (VS Code's file
#     search), libkrb5-dev and a C++ toolchain for code-server's native
#     modules, and fonts for CJK text and emoji in the screenshots;
#   - this folder's npm packages, with `npm ci` from package-lock.json;
#   - code-server in the cache folder (CONCUR_E2E_CACHE, by default
#     ~/.cache/concur-vscode-e2e).
# Runs as root, or with sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
# code-server 4.100.3 installs @vscode/ripgrep 1.15.11 (see its
# lib/vscode/npm-shrinkwrap.json), whose postinstall downloads ripgrep
# v13.0.0-10 from GitHub unless the archive is in its cache folder. Only
# package registries are reachable here, so the Debian binary goes there.
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10

cache="${CONCUR_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/concur-vscode-e2e}"
code_server_dir="$cache/code-server-$CODE_SERVER_VERSION"

log() { echo "install-test-deps: $*"; }

install_debian_packages() {
    local packages=(chromium ripgrep libkrb5-dev build-essential python3
        fonts-wqy-microhei fonts-noto-color-emoji)
    local missing=()
    for package in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "Debian packages present"
        return
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "error: missing Debian packages ${missing[*]}; install them as root, then rerun $0" >&2
            exit 1
        fi
        sudo=(sudo)
    fi
    log "installing Debian packages: ${missing[*]}"
    # Another apt-get may be running on a shared machine, so wait for its lock.
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -qq)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y "${missing[@]}" >/dev/null
}

install_npm_packages() {
    local stamp=node_modules/.concur-package-lock.sha256
    local wanted
    wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        log "npm packages present"
        return
    fi
    log "npm ci"
    npm ci --no-audit --no-fund
    echo "$wanted" >"$stamp"
}

ripgrep_target() {
    case "$(uname -m)" in
    x86_64) echo x86_64-unknown-linux-musl ;;
    aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
    *)
        echo "error: no ripgrep target known for $(uname -m); code-server's ripgrep cannot be set up" >&2
        exit 1
        ;;
    esac
}

install_code_server() {
    local stamp="$code_server_dir/.installed"
    if [ -f "$stamp" ] && [ -x "$code_server_dir/node_modules/.bin/code-server" ]; then
        log "code-server $CODE_SERVER_VERSION present in $code_server_dir"
        return
    fi
    log "installing code-server $CODE_SERVER_VERSION into $code_server_dir (several minutes)"
    rm -rf "$code_server_dir"
    mkdir -p "$code_server_dir/tmp"

    # The ripgrep download cache goes in a private TMPDIR, so that nothing
    # lands in the shared /tmp.
    local ripgrep_cache="$code_server_dir/tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
    local staging="$code_server_dir/tmp/ripgrep"
    mkdir -p "$ripgrep_cache" "$staging"
    cp "$(command -v rg)" "$staging/rg"
    tar -czf "$ripgrep_cache/ripgrep-$RIPGREP_RELEASE-$(ripgrep_target).tar.gz" -C "$staging" rg

    echo '{"name": "concur-code-server", "private": true}' >"$code_server_dir/package.json"
    (
        cd "$code_server_dir"
        TMPDIR="$code_server_dir/tmp" npm_config_yes=true npm_config_unsafe_perm=true \
            npm install --unsafe-perm --no-audit --no-fund --no-save \
            "code-server@$CODE_SERVER_VERSION"
    )

    local rg_bin="$code_server_dir/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
    if ! "$rg_bin" --version >/dev/null; then
        echo "error: code-server's ripgrep at $rg_bin does not run" >&2
        exit 1
    fi
    # code-server writes a config file and logs even for --version, so its
    # XDG folders point into the temporary folder for this check.
    XDG_CONFIG_HOME="$code_server_dir/tmp" XDG_DATA_HOME="$code_server_dir/tmp" \
        "$code_server_dir/node_modules/.bin/code-server" --version >/dev/null
    rm -rf "$code_server_dir/tmp"
    touch "$stamp"
}

install_debian_packages
install_npm_packages
install_code_server
