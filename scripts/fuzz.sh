#!/usr/bin/env bash
# Runs the cargo-fuzz target on the whole deidentify path for SECONDS (default 120), seeded with
# the test files. Fails on any crash. Uses the installed toolchain (RUSTC_BOOTSTRAP lets stable
# build with the sanitizer flags cargo-fuzz passes, so no nightly download is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-120}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked || cargo install cargo-fuzz
corpus="target/fuzz-corpus/deidentify"
mkdir -p "$corpus"
cp tests/data/*.dcm "$corpus"/ 2>/dev/null || true
export RUSTC_BOOTSTRAP=1
cargo fuzz run deidentify "$corpus" --sanitizer none -- \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=1048576 -timeout=20 -print_final_stats=1
