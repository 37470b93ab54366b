#!/usr/bin/env bash
# Builds components/{{name}}.wasm from src/app.js with componentize-js.
#
#   ./build.sh
#
# componentize-js, pinned with every dependency by toolchain/package-lock.json,
# is installed (npm ci) under $AIRSSYS_GUEST_TOOLS (default
# ~/.cache/airssys-guest-tools) the first time, and called through its API by
# toolchain/componentize.mjs with every WASI feature disabled, so the
# component imports only the contract.
#
# Needs node (18 or newer) and npm, and the npm registry for the first install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TOOLS="${AIRSSYS_GUEST_TOOLS:-$HOME/.cache/airssys-guest-tools}"

die() {
    echo "build: error: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node not found; install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found; install it (Debian: apt-get install -y npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' \
    || die "node is $(node --version); componentize-js needs 18 or newer"
VERSION="$(node -p 'require(process.argv[1]).dependencies["@bytecodealliance/componentize-js"]' "$PWD/toolchain/package.json")"
JS_TOOLS="$TOOLS/componentize-js-$VERSION"
# Install again when the lock file changed.
if ! cmp -s toolchain/package-lock.json "$JS_TOOLS/package-lock.json" \
    || ! [ -d "$JS_TOOLS/node_modules/@bytecodealliance/componentize-js" ]; then
    echo "installing componentize-js $VERSION into $JS_TOOLS (npm ci)"
    mkdir -p "$JS_TOOLS"
    cp toolchain/package.json toolchain/package-lock.json "$JS_TOOLS/"
    (cd "$JS_TOOLS" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $JS_TOOLS"
fi
# The script must sit next to node_modules for its import to resolve.
cp toolchain/componentize.mjs "$JS_TOOLS/componentize.mjs"

mkdir -p components
node "$JS_TOOLS/componentize.mjs" --wit wit/component.wit --world plugin --out components/{{name}}.wasm src/app.js
echo "built components/{{name}}.wasm ($(wc -c <components/{{name}}.wasm) bytes)"
