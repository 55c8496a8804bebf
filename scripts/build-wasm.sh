#!/usr/bin/env bash
# Builds the WebAssembly module and its JS glue into www/pkg/ (generated, not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  echo "installing wasm-bindgen-cli $want (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$want"
fi
cargo build --lib --target wasm32-unknown-unknown --release --no-default-features
rm -rf www/pkg
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/dicom_deid.wasm
# wasm-opt is optional; old releases (Debian's binaryen 108) break the externref table that
# wasm-bindgen emits, so only a recent one is used.
opt_version=$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -1 || true)
if [[ -n "$opt_version" && "$opt_version" -ge 116 ]]; then
  wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --strip-debug www/pkg/dicom_deid_bg.wasm -o www/pkg/dicom_deid_bg.opt.wasm \
    && mv www/pkg/dicom_deid_bg.opt.wasm www/pkg/dicom_deid_bg.wasm \
    || echo "wasm-opt failed; keeping the unoptimised module"
fi
ls -l www/pkg
