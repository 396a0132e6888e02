#!/usr/bin/env bash
# `npm test`: install what is missing, then vitest (test/setup/global-setup.ts starts the services the tests
# need and stops what it started). Extra arguments go to vitest, e.g. `npm test -- test/chat.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser test needs Debian's chromium; setup installs it only for test runs, not for `npm start`.
# DURACHAT_SETUP_TESTS: the test FerretDB always runs here, on PostgreSQL, whatever MONGO_URI says.
DURACHAT_SETUP_BROWSER=1 DURACHAT_SETUP_TESTS=1 bash infra/setup.sh
exec node_modules/.bin/vitest run "$@"
