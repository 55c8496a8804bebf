#!/usr/bin/env bash
# Benchmarks: native (criterion, then the CLI with 1 and 2 jobs) and the browser (1 and N
# workers in headless Chromium) on the same generated set. Figures go in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
N="${BENCH_FILES:-300}"
set_dir=$(mktemp -d)
trap 'rm -rf "$set_dir"' EXIT
bash scripts/build-wasm.sh >/dev/null
cargo run --release --quiet --example gen_bench_set -- "$set_dir" "$N"
echo "== native: single-file (criterion)"
cargo bench --bench deidentify 2>&1 | grep -E "^deidentify/|time:|thrpt:"
corpus=""
[[ -d ../shared/corpus ]] && corpus="$(cd ../shared/corpus && pwd)"
echo "== native: whole CLI against cp -r"
BENCH_FILES="$N" BENCH_CORPUS="$corpus" cargo bench --bench batch 2>&1 | grep -E "files|cp -r|MB/s"
echo "== browser against a plain read of the same drop"
node tests/e2e/bench.mjs "$set_dir" $corpus
