#!/usr/bin/env bash
# `npm start`: install what is missing, then run the whole local stack in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a
bash infra/setup.sh
exec node --import tsx infra/run-stack.ts
