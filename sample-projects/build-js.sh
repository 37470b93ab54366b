#!/usr/bin/env bash
# Builds the JavaScript sample components with componentize-js and checks them.
#
#   sample-projects/build-js.sh [--replace]
#
# componentize-js builds are NOT byte-reproducible (the engine's heap is
# snapshotted at build time), so this script never overwrites a committed
# .wasm unless asked: without --replace (or REPLACE_COMMITTED=1) it builds
# each component into a temporary folder, runs the same checks, says that it
# kept the committed file, and leaves the new build where it tells you. CI
# checks the committed components' behaviour (host-core's tests/all/languages.rs
# and `airssys test`), not their bytes.
#
# Needs node (18 or newer) and npm, and the npm registry. componentize-js,
# pinned with every dependency by guest-toolchains/js/package-lock.json, is
# installed (`npm ci`) under $AIRSSYS_GUEST_TOOLS (default
# ~/.cache/airssys-guest-tools) and called through its API by
# guest-toolchains/js/componentize.mjs, with every WASI feature disabled: the
# component imports only the contract's `host` interface (and its `types`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SP="$ROOT/sample-projects"
WIT="$ROOT/wit/component.wit"
PINS="$SP/guest-toolchains/js"
TOOLS="${AIRSSYS_GUEST_TOOLS:-$HOME/.cache/airssys-guest-tools}"
TOOL_MANIFEST="$ROOT/tools/componentize/Cargo.toml"
REPLACE="${REPLACE_COMMITTED:-0}"

die() {
    echo "build-js: error: $*" >&2
    exit 1
}
step() { echo "==> $*"; }

for arg in "$@"; do
    case "$arg" in
        --replace) REPLACE=1 ;;
        -h | --help)
            sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$arg' (the only option is --replace)" ;;
    esac
done

# ------------------------------------------------------------------ toolchain
step "checking the JavaScript toolchain"
command -v node >/dev/null 2>&1 || die "node not found; install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found; install it (Debian: apt-get install -y npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' \
    || die "node is $(node --version); componentize-js needs 18 or newer"
VERSION="$(node -p 'require(process.argv[1]).dependencies["@bytecodealliance/componentize-js"]' "$PINS/package.json")"
JS_TOOLS="$TOOLS/componentize-js-$VERSION"
# Install again when the lock file changed.
if ! cmp -s "$PINS/package-lock.json" "$JS_TOOLS/package-lock.json" \
    || ! [ -d "$JS_TOOLS/node_modules/@bytecodealliance/componentize-js" ]; then
    step "installing componentize-js $VERSION into $JS_TOOLS (npm ci)"
    mkdir -p "$JS_TOOLS"
    cp "$PINS/package.json" "$PINS/package-lock.json" "$JS_TOOLS/"
    (cd "$JS_TOOLS" && npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci failed in $JS_TOOLS (see npm's message above)"
fi
# The script must sit next to node_modules for the ES module import to resolve.
cp "$PINS/componentize.mjs" "$JS_TOOLS/componentize.mjs"
echo "  node $(node --version), componentize-js $VERSION"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
OUT_DIR="${BUILD_OUT_DIR:-$TMP/out}"
mkdir -p "$OUT_DIR"

componentize_tool() {
    cargo run --quiet --release --locked --manifest-path "$TOOL_MANIFEST" -- "$@"
}

# ------------------------------------------------------------------ components
# build NAME PROJECT ENTRY: src is PROJECT/src/NAME, the entry module ENTRY
build() {
    local name="$1" project="$2" entry="$3"
    local src="$SP/$project/src/$name" built="$OUT_DIR/$name.wasm"
    local committed="$SP/$project/components/$name.wasm"
    step "$name: unit tests (node --test, natively)"
    (cd "$src" && node --test 2>&1 | tail -n 8) || die "$name: unit tests failed"
    step "$name: componentize-js (world plugin, WASI features disabled)"
    node "$JS_TOOLS/componentize.mjs" --wit "$WIT" --world plugin --out "$built" "$src/$entry" \
        || die "$name: componentize-js failed"
    check "$built"
    if ! [ -f "$committed" ]; then
        cp "$built" "$committed"
        echo "  added ${committed#"$ROOT"/} (there was none)"
    elif [ "$REPLACE" = 1 ]; then
        cp "$built" "$committed"
        echo "  replaced ${committed#"$ROOT"/} ($(wc -c <"$committed") bytes)"
    else
        echo "  kept the committed ${committed#"$ROOT"/}: builds are not byte-reproducible;"
        echo "  pass --replace (or REPLACE_COMMITTED=1) to overwrite it"
        if [ -n "${BUILD_OUT_DIR:-}" ]; then echo "  the new build is $built"; fi
    fi
}

# A contract component importing nothing but the contract: `host` and `types`.
check() {
    local file="$1" interfaces magic imports
    magic="$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')"
    [ "$magic" = "0061736d0d000100" ] || die "$file is not a WebAssembly component (header $magic)"
    interfaces="$(componentize_tool --interfaces "$file")"
    grep -qx "export airssys:component/guest@0.1.0" <<<"$interfaces" \
        || die "$file does not export airssys:component/guest@0.1.0"
    imports="$(grep '^import ' <<<"$interfaces" | sed 's/^import //' | sort | paste -sd' ' -)"
    [ "$imports" = "airssys:component/host@0.1.0 airssys:component/types@0.1.0" ] \
        || die "$file imports $imports; expected only airssys:component/host and types"
    printf '  %-50s %9d bytes  imports %s\n' "$(basename "$file")" "$(wc -c <"$file")" "$imports"
}

build toc blog-publisher app.js

step "done"
