#!/usr/bin/env bash
# The fuzz targets in fuzz/ (cargo fuzz, nightly Rust). See docs/fuzzing.md.
#   scripts/fuzz.sh replay        every input of corpus/ and seeds/ through its target once
#                                 (CI runs this; seeds/ holds hand-made examples and every
#                                 input that once failed, which cmin must not drop)
#   scripts/fuzz.sh run [RUNS]    each target for RUNS executions (default 10,000,000),
#                                 growing its corpus; then minimises the corpus
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=(readings protobuf status firmware_offer api_json scale_notifications shot_files)
case ${1:-replay} in
  replay)
    cargo +nightly fuzz build
    for t in "${targets[@]}"; do
      # -runs=0: each corpus input once, no new ones; a crash or failed check exits non-zero.
      if out=$(cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- -runs=0 2>&1); then
        echo "$t: $(ls "corpus/$t" "seeds/$t" | wc -l) inputs, all pass"
      else
        echo "$out" | tail -n 40
        echo "$t: an input fails; it is in fuzz/corpus/$t or fuzz/seeds/$t (see docs/fuzzing.md)"
        exit 1
      fi
    done
    ;;
  run)
    runs=${2:-10000000}
    for t in "${targets[@]}"; do
      echo "== $t: $runs executions"
      cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- -runs="$runs" -max_len=8192 2>&1 | grep -E "^Done|ERROR|panicked" || true
      cargo +nightly fuzz cmin "$t" >/dev/null 2>&1
    done
    ;;
  *) echo "usage: $0 replay | run [RUNS]" >&2; exit 2 ;;
esac
