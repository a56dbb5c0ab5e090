#!/usr/bin/env bash
# Quickstart: installs what is missing, then builds and starts Wages with its embedded
# defaults on http://127.0.0.1:3000 (set any variable of .env.example to change them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
mkdir -p data
exec cargo leptos serve --release --precompress --split
