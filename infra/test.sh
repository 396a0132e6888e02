#!/usr/bin/env bash
# `npm test`: install what is missing, then vitest (test/setup/global-setup.ts starts the services the tests
# need and stops what it started). Extra arguments go to vitest, e.g. `npm test -- test/chat.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec node_modules/.bin/vitest run "$@"
