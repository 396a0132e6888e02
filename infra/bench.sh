#!/usr/bin/env bash
# `npm run bench`: install what is missing, then run the benchmark (bench/README.md).
# `npm run bench -- --scale-out [...]`: the scale-out benchmark instead (bench/scale-out.ts).
# `npm run bench -- --idle-followers [...]`: the idle-followers benchmark instead (bench/idle-followers.ts).
# `npm run bench -- --tool-overhead [...]`: per-tool-call overhead of agent runs (bench/tool-call-overhead.ts).
# `npm run bench -- --ingestion [...]`: file ingestion throughput and the API's RSS during a big upload (bench/ingestion-bench.ts).
# `npm run bench -- --search [...]`: search query latency at 100,000 indexed messages and indexing lag (bench/search-bench.ts).
# `npm run bench -- --ferretdb-lookups [...]`: one indexed lookup on FerretDB over PostgreSQL, default versus tuned (bench/ferretdb-lookups.ts).
# `npm run bench -- --search-drain [...]`: one drain of the search outbox as the database grows, and reads by `$in` versus by id (bench/search-drain.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
entry=bench/chat-bench.ts
args=()
for argument in "$@"; do
  case "$argument" in
    --scale-out) entry=bench/scale-out.ts ;;
    --idle-followers) entry=bench/idle-followers.ts ;;
    --tool-overhead) entry=bench/tool-call-overhead.ts ;;
    --ingestion) entry=bench/ingestion-bench.ts ;;
    --search) entry=bench/search-bench.ts ;;
    --ferretdb-lookups) entry=bench/ferretdb-lookups.ts ;;
    --search-drain) entry=bench/search-drain.ts ;;
    *) args+=("$argument") ;;
  esac
done
exec node --import tsx "$entry" ${args[@]+"${args[@]}"}
