#!/usr/bin/env bash
# Sets up, builds the WebAssembly module and serves the app on http://127.0.0.1:${PORT:-8080}/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
exec node scripts/serve.mjs www "${PORT:-8080}"
