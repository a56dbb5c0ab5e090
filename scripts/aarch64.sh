#!/usr/bin/env bash
# Cross-compiles the release binary for aarch64-unknown-linux-gnu (Raspberry Pi 4 and
# Orange Pi 5 on a 64-bit OS) with Debian's cross linker, then smoke-tests it under
# qemu-user against a live page and an MQTT reading (scripts/smoke.sh). The site (WASM,
# JS, CSS) is the same on every architecture: the one `cargo leptos build --release`
# made is used, built first if missing. Installs what is missing (as root).
# Output: target/aarch64-unknown-linux-gnu/release/wages
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu

need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
if [ ${#need[@]} -gt 0 ]; then
  echo "[aarch64] installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"

export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -f target/site/hash.txt ] || cargo leptos build --release --precompress --split

# C parts (SQLite, ring) are compiled with the cross compiler too. The server bakes in
# the site's file names at build time, as cargo leptos does.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
LEPTOS_OUTPUT_NAME=wages cargo build --locked --release -p server --bin wages --target "$TARGET"

binary=target/$TARGET/release/wages
file -b "$binary" 2>/dev/null || true
scripts/smoke.sh "$binary" target/site qemu-aarch64 -L /usr/aarch64-linux-gnu
