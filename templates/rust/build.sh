#!/usr/bin/env bash
# Builds components/{{name}}.wasm from src/lib.rs: cargo, target wasm32-wasip2, release.
#
#   ./build.sh
#
# Needs Rust (rustup) with the target: rustup target add wasm32-wasip2.
# CARGO_TARGET_DIR is honoured (the .wasm is copied out of wherever cargo builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() {
    echo "build: error: $*" >&2
    exit 1
}

command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust with rustup (then: rustup target add wasm32-wasip2)"
[ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2" ] \
    || die "the Rust target wasm32-wasip2 is not installed; install it with: rustup target add wasm32-wasip2"

cargo build --release --target wasm32-wasip2
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$TARGET_DIR" ] || die "could not find cargo's target directory"
mkdir -p components
cp "$TARGET_DIR/wasm32-wasip2/release/{{name_snake}}.wasm" components/{{name}}.wasm
echo "built components/{{name}}.wasm ($(wc -c <components/{{name}}.wasm) bytes)"
