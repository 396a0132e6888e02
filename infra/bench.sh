#!/usr/bin/env bash
# `npm run bench`: install what is missing, then run the benchmark (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec node --import tsx bench/chat-bench.ts "$@"
