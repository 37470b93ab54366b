#!/usr/bin/env bash
# Builds the third-party WASI command programs committed with the samples.
#
#   sample-projects/build-wasi-tools.sh [--replace]
#
# jaq 1.5.1 (a jq clone, MIT, from crates.io) -> iot-sensors/components/jaq.wasm
#
# The crate is fetched from crates.io by cargo (its checksum is checked against
# the index) and built for wasm32-wasip2 with every dependency pinned by
# iot-sensors/src/jaq/Cargo.lock: the lock file jaq 1.5.1 ships pins clap
# 4.0, whose os_str_bytes no longer builds for wasm32-wasip2, so
# `cargo install --locked jaq@1.5.1` fails; this lock file is the crate's own
# requirements resolved afresh. Equivalent to
#
#   cargo install --root DIR --target wasm32-wasip2 --no-default-features jaq@1.5.1
#
# with the lock file applied. `--no-default-features` leaves out mimalloc (a C
# allocator); jaq 2 and 3 need rustyline, whose fd-lock does not build for WASI.
#
# A Rust build is reproducible only with the same rustc, so the committed file
# is replaced only with --replace (or REPLACE_COMMITTED=1) or when it is
# missing; otherwise the script says whether the new build is identical.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SP="$ROOT/sample-projects"
TOOL_MANIFEST="$ROOT/tools/componentize/Cargo.toml"
REPLACE="${REPLACE_COMMITTED:-0}"
JAQ_VERSION=1.5.1
JAQ_LOCK="$SP/iot-sensors/src/jaq/Cargo.lock"
JAQ_OUT="$SP/iot-sensors/components/jaq.wasm"

die() {
    echo "build-wasi-tools: error: $*" >&2
    exit 1
}
step() { echo "==> $*"; }

for arg in "$@"; do
    case "$arg" in
        --replace) REPLACE=1 ;;
        *) die "unknown argument '$arg' (the only option is --replace)" ;;
    esac
done

command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust with rustup"
[ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2" ] \
    || die "the Rust target wasm32-wasip2 is not installed; install it with: rustup target add wasm32-wasip2"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

step "fetching jaq $JAQ_VERSION from crates.io"
# A throw-away package depending on jaq makes cargo download and unpack it
# (cargo then warns that jaq has no library target: expected).
mkdir -p "$TMP/fetch/src"
touch "$TMP/fetch/src/lib.rs"
cat >"$TMP/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-jaq"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
jaq = "=$JAQ_VERSION"

[workspace]
EOF
cargo fetch --quiet --manifest-path "$TMP/fetch/Cargo.toml" 2>&1 | grep -v "missing a lib target" || true
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
SRC=""
for dir in "$CARGO_HOME_DIR"/registry/src/*/"jaq-$JAQ_VERSION"; do
    if [ -f "$dir/Cargo.toml" ] && grep -qx "version = \"$JAQ_VERSION\"" "$dir/Cargo.toml"; then
        SRC="$dir"
        break
    fi
done
[ -n "$SRC" ] || die "cargo did not unpack jaq $JAQ_VERSION under $CARGO_HOME_DIR/registry/src"

step "building jaq $JAQ_VERSION for wasm32-wasip2 (release, stripped, pinned lock file)"
cp -r "$SRC" "$TMP/jaq"
cp "$JAQ_LOCK" "$TMP/jaq/Cargo.lock"
RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$TMP/jaq=/jaq --remap-path-prefix=$CARGO_HOME_DIR=/cargo" \
    cargo build --quiet --release --locked --target wasm32-wasip2 --no-default-features \
    --config 'profile.release.strip=true' \
    --manifest-path "$TMP/jaq/Cargo.toml" --target-dir "$TMP/target"
BUILT="$TMP/target/wasm32-wasip2/release/jaq.wasm"
[ -f "$BUILT" ] || die "expected build output $BUILT is missing"

interfaces="$(cargo run --quiet --release --locked --manifest-path "$TOOL_MANIFEST" -- --interfaces "$BUILT")"
grep -q "^export wasi:cli/run@0\.2\." <<<"$interfaces" || die "jaq.wasm does not export wasi:cli/run"
printf '  %-50s %9d bytes  a WASI command\n' "jaq.wasm" "$(wc -c <"$BUILT")"

if ! [ -f "$JAQ_OUT" ] || [ "$REPLACE" = 1 ]; then
    cp "$BUILT" "$JAQ_OUT"
    echo "  wrote ${JAQ_OUT#"$ROOT"/}"
elif cmp -s "$BUILT" "$JAQ_OUT"; then
    echo "  ${JAQ_OUT#"$ROOT"/} is identical to the new build"
else
    echo "  kept the committed ${JAQ_OUT#"$ROOT"/}: the new build differs (another rustc?);"
    echo "  pass --replace (or REPLACE_COMMITTED=1) to overwrite it"
fi
step "done"
