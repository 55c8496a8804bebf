#!/usr/bin/env bash
# Every test of the project: formatting, lints on both targets, the Rust test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --check
echo "== clippy (native)"
cargo clippy --all-targets -- -D warnings
echo "== clippy (wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
echo "== cargo test"
cargo test
