#!/usr/bin/env bash
# Installs what Wages needs to build, run and test on a fresh Debian machine, offline
# except for the package registries. Idempotent: every step checks first and skips what
# is already there at the right version. Usage: scripts/setup.sh [--test]
#   (no flag)  the build tools: WASM target, cargo-leptos, wasm-bindgen-cli, wasm-opt
#   --test     also what the tests need: Debian's Chromium for the Playwright suite,
#              PostgreSQL, Mosquitto, RabbitMQ, VictoriaMetrics and InfluxDB 1.x (tests
#              start their own private instances), mosquitto-clients, openssl and
#              cargo-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the `wasm-bindgen` version pinned in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
: "${WASM_BINDGEN_VERSION:?Cargo.toml must pin wasm-bindgen with =}"

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# Debian packages ---------------------------------------------------------------------
apt_pkgs=()
# Time zones, so pages show times in each viewer's zone.
[ -e /usr/share/zoneinfo/UTC ] || apt_pkgs+=(tzdata)
if $want_test; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_pkgs+=(postgresql)
  command -v mosquitto >/dev/null || apt_pkgs+=(mosquitto)
  command -v mosquitto_pub >/dev/null || apt_pkgs+=(mosquitto-clients)
  command -v openssl >/dev/null || apt_pkgs+=(openssl)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_pkgs+=(rabbitmq-server)
  command -v victoria-metrics >/dev/null || apt_pkgs+=(victoria-metrics)
  command -v influxd >/dev/null || apt_pkgs+=(influxdb)
  # scripts/api-check.sh puts Schemathesis from PyPI into a virtual environment.
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_pkgs+=(python3-venv)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  # Debian starts machine-wide services; the tests use their own, so stop them.
  for svc in postgresql mosquitto rabbitmq-server; do
    [[ " ${apt_pkgs[*]} " == *" $svc "* ]] && { service "$svc" stop >/dev/null 2>&1 || true; }
  done
  [[ " ${apt_pkgs[*]} " == *" rabbitmq-server "* ]] && { epmd -kill >/dev/null 2>&1 || true; }
fi

# Rust: WASM target -------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Compiles a crate's published source with a pinned dependency, because the lock files
# shipped with these tools need a newer rustc than the machine has.
install_from_source() { # crate version binary pin_crate pin_version [cargo install flags...]
  local crate=$1 version=$2 bin=$3 pin=$4 pin_version=$5; shift 5
  local src build
  cargo info "$crate@$version" >/dev/null 2>&1 || true # fetches the source into the registry cache
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" | head -1)
  build=$(mktemp -d)
  cp -r "$src" "$build/$crate"
  (cd "$build/$crate" && cargo update -q -p "$pin" --precise "$pin_version" && cargo install -q --path . --locked "$@")
  rm -rf "$build"
  command -v "$bin" >/dev/null
}

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "building cargo-leptos $CARGO_LEPTOS_VERSION from source (10-30 minutes on 2 cores, once per machine)"
  install_from_source cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos cargo-util-schemas 0.14.1 --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION from source (5-12 minutes, once per machine)"
  install_from_source wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen webpki-roots 1.0.10
fi

# cargo-fuzz, for the test suite's replay of the fuzz corpora (fuzz/, nightly Rust,
# which these machines carry; rustup cannot download it here).
CARGO_FUZZ_VERSION=0.13.2
if $want_test && ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  say "building cargo-fuzz $CARGO_FUZZ_VERSION (2-5 minutes, once per machine)"
  cargo install -q cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
if $want_test && ! cargo +nightly --version >/dev/null 2>&1; then
  say "no nightly Rust toolchain: the fuzz replay step will fail (rustup toolchain install nightly)"
fi

# npm: wasm-opt (binaryen 123, runs under node; Debian's binaryen 108 breaks hydration)
# and Playwright, both in end2end/node_modules. Playwright's own browser download is
# skipped: the tests drive Debian's Chromium.
# Reinstalled whenever package-lock.json changes (its hash is kept beside the packages).
lock_hash=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ "$(cat end2end/node_modules/.wages-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  say "installing end2end npm packages (binaryen, Playwright without its browser download, swagger-parser)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > end2end/node_modules/.wages-lock-hash
fi

say "ready"
