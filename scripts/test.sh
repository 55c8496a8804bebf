#!/usr/bin/env bash
# Every test of the project: formatting and lints on both targets, the Rust suites (native and
# wasm32 in headless Chromium), the end-to-end browser tests, and a bounded fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
echo "== cargo fmt --check"
cargo fmt --check
echo "== clippy (native, wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features detect -- -D warnings
echo "== cargo test (native)"
cargo test
echo "== build the wasm module and the release CLI"
bash scripts/build-wasm.sh
cargo build --release
echo "== Clean Pixel Data read back by pydicom, dcmtk and dciodvfy"
python3 scripts/pixel_check.py
echo "== wasm-bindgen-test (headless Chromium)"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --no-default-features --test wasm
echo "== fuzz ${FUZZ_SECONDS:-120} s"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-120}" 2>&1 | tail -8
if [[ -d ../shared/corpus && "${EXTENDED:-1}" != 0 ]]; then
  echo "== extended: the real-file corpus through the CLI (pydicom, dcmtk) and the browser"
  python3 scripts/corpus_check.py 2>&1 | grep -vE "UserWarning|warn_and_log"
  echo "== extended: dciodvfy on every corpus output against its input, under each option set"
  python3 scripts/validity_check.py
  bash scripts/corpus-browser.sh
fi
echo "== end-to-end (playwright-core + Debian Chromium)"
node --test tests/e2e/
