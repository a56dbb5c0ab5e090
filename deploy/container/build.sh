#!/usr/bin/env bash
# The container image's build steps, as a script so they run (and are tested) without a
# container engine: installs the build tools, builds the release binary and the site,
# and lays out in DEST exactly what the image holds:
#   DEST/usr/local/bin/wages        the binary
#   DEST/usr/share/wages/site/      the site (pkg/ with the WASM, JS and CSS)
# Usage: deploy/container/build.sh DEST
set -euo pipefail
dest=${1:?usage: deploy/container/build.sh DEST}
cd "$(dirname "$0")/../.."
scripts/setup.sh
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --precompress --split
rm -rf "$dest"
mkdir -p "$dest/usr/local/bin" "$dest/usr/share/wages"
cp target/release/wages "$dest/usr/local/bin/wages"
cp -r target/site "$dest/usr/share/wages/site"
echo "laid out in $dest: $(du -sh "$dest" | cut -f1)"
