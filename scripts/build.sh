#!/usr/bin/env bash
# A static build: dist/ holds everything a static host needs to serve the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
rm -rf dist && mkdir -p dist && cp -r www/. dist/
echo "static site in dist/ (serve it with any static host; see README for the CSP header)"
