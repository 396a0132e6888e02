#!/usr/bin/env bash
# `npm test`: install what is missing, start the services the tests need, run every test, stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec node --import tsx infra/run-tests.ts "$@"
