#!/usr/bin/env bash
# Installs what durachat needs and is missing: npm dependencies, the Temporal CLI and FerretDB (built with
# `go install`, cached), and a local Redis when REDIS_URI points here and nothing answers. Idempotent:
# a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

TOOLS_DIR="${DURACHAT_TOOLS_DIR:-$HOME/.cache/durachat/bin}"
mkdir -p "$TOOLS_DIR"

# --- npm dependencies -------------------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.durachat-installed-lock; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.durachat-installed-lock
else
  say "npm dependencies are up to date"
fi

# --- Chromium for the browser test (npm test only) ---------------------------------------------------------
# playwright-core drives Debian's chromium (its own browser downloads cannot reach the internet here). A failed
# install does not stop the run: test/browser-protocol2.test.ts then fails and names the missing browser.
if [ "${DURACHAT_SETUP_BROWSER:-}" = 1 ]; then
  if [ -x /usr/bin/chromium ]; then
    say "chromium is installed ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
  else
    say "installing chromium from Debian's packages for the browser test (about a minute)"
    chromium_log=$(mktemp)
    if (apt-get update -qq && apt-get install -y -qq chromium) >"$chromium_log" 2>&1; then
      say "chromium installed"
    else
      say "installing chromium failed; the browser test will fail. Last lines of apt-get:"
      tail -n 5 "$chromium_log" | sed 's/^/[setup]   /'
    fi
    rm -f "$chromium_log"
  fi
fi

# --- Go tools -----------------------------------------------------------------------------------------
# Built once per machine into $TOOLS_DIR; Go's module and build caches make a rebuild cheap too.
build_with_progress() {
  local name=$1 module=$2
  local log="$TOOLS_DIR/$name.build.log"
  say "building $name from $module with go install (several minutes the first time on 2 cores; log: $log)"
  GOBIN="$TOOLS_DIR" GOFLAGS=-mod=mod go install -v "$module" >"$log" 2>&1 &
  local pid=$! started=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null || break
    say "  ... $name still building ($((SECONDS - started))s): $(tail -n 1 "$log" | cut -c1-100)"
  done
  wait "$pid"
}

install_go_tool() {
  local name=$1; shift
  local marker="$TOOLS_DIR/$name.installed"
  if [ -x "$TOOLS_DIR/$name" ] && [ -f "$marker" ]; then
    say "$name $(cat "$marker") is installed ($TOOLS_DIR/$name)"
    return 0
  fi
  command -v go >/dev/null || { say "Go is required to build $name (see ../shared/STACK.md)"; exit 1; }
  # Each argument is a module@version to try, in order: later ones are fallbacks if a dependency is not served.
  for module in "$@"; do
    if build_with_progress "$name" "$module"; then
      echo "${module##*@}" >"$marker"
      say "$name ${module##*@} installed"
      return 0
    fi
    say "building $module failed (see $TOOLS_DIR/$name.build.log)"
  done
  exit 1
}

# FerretDB's module zip lacks build/version/version.txt (its release builds generate it), and the binary
# panics at start-up without it. So: fetch the module with the go command, copy its source, write the
# version file, and build that copy. Same source, same Go caches, no other download.
install_ferretdb() {
  local version=v1.24.2 marker="$TOOLS_DIR/ferretdb.installed"
  if [ -x "$TOOLS_DIR/ferretdb" ] && [ "$(cat "$marker" 2>/dev/null)" = "$version" ]; then
    say "ferretdb $version is installed ($TOOLS_DIR/ferretdb)"
    return 0
  fi
  say "fetching FerretDB $version source with go mod download"
  local module_dir source_dir="$TOOLS_DIR/src/ferretdb-$version"
  module_dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$module_dir" ] || { say "go mod download gave no source directory for FerretDB"; exit 1; }
  rm -rf "$source_dir" && mkdir -p "$(dirname "$source_dir")" && cp -r "$module_dir" "$source_dir" && chmod -R u+w "$source_dir"
  echo "$version" >"$source_dir/build/version/version.txt"
  local log="$TOOLS_DIR/ferretdb.build.log"
  say "building ferretdb $version (a few minutes the first time; log: $log)"
  (cd "$source_dir" && go build -o "$TOOLS_DIR/ferretdb" ./cmd/ferretdb) >"$log" 2>&1 &
  local pid=$! started=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && say "  ... ferretdb still building ($((SECONDS - started))s)"
  done
  wait "$pid" || { say "building ferretdb failed (see $log)"; exit 1; }
  echo "$version" >"$marker"
  say "ferretdb $version installed"
}

install_go_tool temporal github.com/temporalio/cli/cmd/temporal@v1.5.1 github.com/temporalio/cli/cmd/temporal@v1.4.1 github.com/temporalio/cli/cmd/temporal@v1.3.0
install_ferretdb

# --- Redis -------------------------------------------------------------------------------------------------
redis_uri="${REDIS_URI:-redis://127.0.0.1:6379}"
case "$redis_uri" in
  redis://127.0.0.1:6379* | redis://localhost:6379*)
    if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
      say "Redis is running on 127.0.0.1:6379"
    else
      if ! command -v redis-server >/dev/null; then
        say "installing redis-server from Debian's packages"
        (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null
      fi
      say "starting redis-server on 127.0.0.1:6379"
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    fi
    ;;
  *) say "REDIS_URI points elsewhere ($redis_uri): no local Redis needed" ;;
esac
