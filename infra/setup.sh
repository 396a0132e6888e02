#!/usr/bin/env bash
# Installs what durachat needs and is missing: npm dependencies, the Temporal CLI and FerretDB (built with
# `go install`, cached), a local Redis when REDIS_URI points here and nothing answers, and PostgreSQL with
# FerretDB's role and database (FERRETDB_POSTGRESQL_URL). Idempotent: a second run only checks.
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
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --pidfile /tmp/durachat-redis-6379.pid
    fi
    ;;
  *) say "REDIS_URI points elsewhere ($redis_uri): no local Redis needed" ;;
esac

# --- PostgreSQL for FerretDB ------------------------------------------------------------------------------
# FerretDB keeps its data in PostgreSQL (FERRETDB_POSTGRESQL_URL). When that URL is local, this installs Debian's
# postgresql package if missing, starts the cluster on the URL's port (creating one if there is none), and creates
# the URL's role (LOGIN CREATEDB: each test run creates a database of its own) and database. Nothing here stops
# setup: without PostgreSQL, FerretDB falls back to its SQLite backend and infra/local-services.ts says so when
# the stack starts.
pg_url="${FERRETDB_POSTGRESQL_URL:-postgres://durachat:durachat@127.0.0.1:5432/durachat}"
pg_fallback() { say "PostgreSQL cannot be used ($*): FerretDB will fall back to its SQLite backend (files under .data/, slow under load)"; }
pg_query() { psql -X -w -A -t -q -v ON_ERROR_STOP=1 "$@"; }

setup_postgresql() {
  local parts host port user password database
  parts=$(node -e 'const u = new URL(process.argv[1]); if (!/^postgres(ql)?:$/.test(u.protocol)) process.exit(1);
    console.log([u.hostname, u.port || "5432", decodeURIComponent(u.username) || "postgres", decodeURIComponent(u.password), decodeURIComponent(u.pathname.slice(1))].join("\x1f"))' "$pg_url" 2>/dev/null) \
    || { pg_fallback "FERRETDB_POSTGRESQL_URL is not a postgres:// URL"; return 0; }
  IFS=$'\x1f' read -r host port user password database <<<"$parts"
  database=${database:-$user}
  case "$host" in
    127.0.0.1 | localhost) ;;
    *) say "FERRETDB_POSTGRESQL_URL points elsewhere ($host:$port): no local PostgreSQL set up"; return 0 ;;
  esac

  # Already usable: the role logs in to its database and may create databases.
  if [ "$(pg_query -d "$pg_url" -c 'select rolcreatedb from pg_roles where rolname = current_user' 2>/dev/null)" = t ]; then
    say "PostgreSQL is ready on $host:$port (role $user, database $database)"
    return 0
  fi

  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v psql >/dev/null; then
    say "installing postgresql from Debian's packages (about a minute)"
    local apt_log
    apt_log=$(mktemp)
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >"$apt_log" 2>&1; then
      tail -n 3 "$apt_log" | sed 's/^/[setup]   /'
      rm -f "$apt_log"
      pg_fallback "installing Debian's postgresql package failed"
      return 0
    fi
    rm -f "$apt_log"
  fi

  if ! pg_isready -q -h 127.0.0.1 -p "$port" -t 2; then
    local cluster version name
    cluster=$(pg_lsclusters -h 2>/dev/null | awk -v port="$port" '$3 == port { print $1, $2; exit }' || true)
    if [ -z "$cluster" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      name=main
      [ -d "/etc/postgresql/$version/main" ] && name=durachat
      say "creating PostgreSQL $version cluster '$name' on port $port"
      pg_createcluster --port "$port" "$version" "$name" >/dev/null 2>&1 || { pg_fallback "pg_createcluster $version $name failed"; return 0; }
      cluster="$version $name"
    fi
    say "starting PostgreSQL cluster $cluster on port $port"
    # shellcheck disable=SC2086 # "$version $name"
    pg_ctlcluster --skip-systemctl-redirect $cluster start >/dev/null 2>&1 || true
    local waited=0
    until pg_isready -q -h 127.0.0.1 -p "$port" -t 1; do
      waited=$((waited + 1))
      [ "$waited" -lt 30 ] || { pg_fallback "cluster $cluster did not start; see /var/log/postgresql/"; return 0; }
      sleep 1
    done
  fi

  # A superuser connection to create the role and database: TCP as postgres (trust), else the postgres OS user
  # over the socket (peer, Debian's default), else sudo, else the current user.
  local -a admin=()
  if pg_query -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    admin=(psql -h 127.0.0.1 -p "$port" -U postgres)
  elif [ "$(id -u)" = 0 ] && (cd / && runuser -u postgres -- psql -X -w -p "$port" -d postgres -c 'select 1') >/dev/null 2>&1; then
    admin=(runuser -u postgres -- psql -p "$port")
  elif command -v sudo >/dev/null && (cd / && sudo -n -u postgres psql -X -w -p "$port" -d postgres -c 'select 1') >/dev/null 2>&1; then
    admin=(sudo -n -u postgres psql -p "$port")
  elif pg_query -h 127.0.0.1 -p "$port" -d postgres -c 'select 1' >/dev/null 2>&1; then
    admin=(psql -h 127.0.0.1 -p "$port")
  else
    pg_fallback "no superuser connection to create role $user and database $database; create them yourself (LOGIN CREATEDB, database owned by the role)"
    return 0
  fi
  pg_admin() { (cd / && "${admin[@]}" -X -w -A -t -q -v ON_ERROR_STOP=1 -d postgres -c "$1"); }

  if ! [[ "$user" =~ ^[a-z_][a-z0-9_]*$ && "$database" =~ ^[a-z_][a-z0-9_]*$ && "$password" != *"'"* ]]; then
    pg_fallback "role '$user' or database '$database' in FERRETDB_POSTGRESQL_URL is not a plain lower-case name; create them yourself"
    return 0
  fi
  local role_options="LOGIN CREATEDB${password:+ PASSWORD '$password'}"
  if [ "$(pg_admin "select 1 from pg_roles where rolname = '$user'")" = 1 ]; then
    pg_admin "ALTER ROLE \"$user\" $role_options" >/dev/null || { pg_fallback "could not alter role $user"; return 0; }
  else
    say "creating PostgreSQL role $user"
    pg_admin "CREATE ROLE \"$user\" $role_options" >/dev/null || { pg_fallback "could not create role $user"; return 0; }
  fi
  if [ "$(pg_admin "select 1 from pg_database where datname = '$database'")" != 1 ]; then
    say "creating PostgreSQL database $database"
    pg_admin "CREATE DATABASE \"$database\" OWNER \"$user\"" >/dev/null || { pg_fallback "could not create database $database"; return 0; }
  fi
  pg_admin "GRANT ALL ON DATABASE \"$database\" TO \"$user\"" >/dev/null || true

  local problem
  if problem=$(pg_query -d "$pg_url" -c 'select 1' 2>&1 >/dev/null); then
    say "PostgreSQL is ready on $host:$port (role $user, database $database)"
  else
    pg_fallback "$user cannot log in: $(printf '%s' "$problem" | head -n 1)"
  fi
}

mongo_uri="${MONGO_URI:-mongodb://127.0.0.1:27017/durachat}"
if [ "${FERRETDB_HANDLER:-postgresql}" = sqlite ]; then
  say "FERRETDB_HANDLER=sqlite: FerretDB uses its SQLite backend; PostgreSQL not set up"
elif [ "${DURACHAT_SETUP_TESTS:-}" != 1 ] && ! [[ "$mongo_uri" =~ ^mongodb://([^@/]*@)?(127\.0\.0\.1|localhost): ]]; then
  say "MONGO_URI points elsewhere: no FerretDB, no local PostgreSQL needed"
else
  setup_postgresql
fi
