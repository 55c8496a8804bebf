#!/usr/bin/env bash
# Extended browser run: the page de-identifies the whole corpus; the zip must equal the CLI's
# output for the same key, file by file (TCIA with Clean Pixel Data, images at risk that no mask
# covers released, so every file is compared and the masked ones too).
# Usage: bash scripts/corpus-browser.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
bash scripts/setup.sh --browser
bash scripts/build-wasm.sh >/dev/null
cargo build --release --quiet
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$tmp/key"
./target/release/dcm-deid deidentify "$corpus" -o "$tmp/native" --preset tcia --clean-pixel-data --release-unmasked --key "$tmp/key" >/dev/null 2>&1 || true
node tests/e2e/corpus.mjs "$corpus" "$tmp/key" "$tmp/native"
