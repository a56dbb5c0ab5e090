#!/usr/bin/env bash
# Line coverage of the Rust tests (unit and integration, with the same private services
# as scripts/test.sh), measured by cargo-tarpaulin's LLVM engine: rustc instruments the
# code and tarpaulin reads the profiles itself, so no llvm-tools are needed (rustup
# cannot fetch them on machines that reach only the package registries, and Debian's
# LLVM 14 cannot read rustc 1.95's profiles). Its ptrace engine segfaulted on the first
# test binary here; TARPAULIN_ENGINE=ptrace selects it anyway. Installs what is missing.
# Report: target/coverage/tarpaulin-report.html and lcov.info; the total is the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export PATH="$HOME/.cargo/bin:$PATH"
TARPAULIN_VERSION=0.37.5

scripts/setup.sh --test
if ! cargo tarpaulin --version 2>/dev/null | grep -q "$TARPAULIN_VERSION"; then
  echo "==> installing cargo-tarpaulin $TARPAULIN_VERSION from crates.io (a few minutes, once)"
  cargo install --locked cargo-tarpaulin --version "$TARPAULIN_VERSION"
fi

. scripts/services.sh
start_test_services

# Its own target directory: tarpaulin builds with its own flags, and would otherwise
# make the next ordinary build start over. Every test binary carries full debug info
# for the line map; with dead code linked in too (tarpaulin's default) they took 41 GB
# and filled the disk, so dead code stays out (--no-dead-code: functions never linked
# do not count as lines at all). Needs about 25 GB free.
cargo tarpaulin --engine "${TARPAULIN_ENGINE:-llvm}" --skip-clean --no-dead-code --target-dir target/tarpaulin \
  -p wages-codec -p wages-sessions -p wages-store -p app -p server --features app/ssr,wages-store/testing \
  --exclude-files 'fuzz/*' 'frontend/*' \
  --timeout 600 --out Html --out Lcov --output-dir target/coverage
