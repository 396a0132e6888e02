#!/usr/bin/env bash
# `npm run bench`: install what is missing, then run the benchmark (bench/README.md).
# `npm run bench -- --scale-out [...]`: the scale-out benchmark instead (bench/scale-out.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
entry=bench/chat-bench.ts
args=()
for argument in "$@"; do
  if [[ "$argument" == --scale-out ]]; then entry=bench/scale-out.ts; else args+=("$argument"); fi
done
exec node --import tsx "$entry" ${args[@]+"${args[@]}"}
