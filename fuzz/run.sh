#!/usr/bin/env bash
# Runs the cargo-fuzz targets one after another (never in parallel), each for
# a fixed time.  Not part of CI.
#
#   npm run fuzz                      # 60 s per target, every target
#   npm run fuzz -- 600               # 600 s per target
#   FUZZ_SECONDS=30 npm run fuzz -- policy vary
#
# Arguments: an optional number of seconds, then target names (default: all).
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs
# cargo-fuzz from crates.io if it is missing. No AddressSanitizer (-s none):
# src/http is safe Rust, ASan only halves the speed. The corpus grows under
# fuzz/corpus/<target> (git-ignored); crashes land in fuzz/artifacts/<target>.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-60}"
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(cache_control http_date vary policy stored_response)
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: a nightly Rust toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz
fi

status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s (seeds: regressions/$target)"
  # The kept regression inputs seed the corpus (copied: libFuzzer may write
  # into every corpus directory it is given, and regressions/ stays curated).
  cp -n "regressions/$target"/* "corpus/$target/"
  if ! cargo +nightly fuzz run -O -s none "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1; then
    echo "fuzz: $target failed; the input is in fuzz/artifacts/$target" >&2
    status=1
  fi
done
exit $status
