#!/usr/bin/env bash
# Rebuilds every committed sample component (.wasm) from source and checks it.
#
#   sample-projects/build-components.sh [--replace-python-js]   (from anywhere)
#
# Rust components: cargo, wasm32-wasip2 target (the guest workspace in this folder).
# C component:     clang-16 + wasi-libc, wrapped into a component by tools/componentize.
# jaq (third-party WASI command): build-wasi-tools.sh, run after the checks.
# Python and JavaScript components: build-python.sh and build-js.sh, run at the end.
#   Their builds are not byte-reproducible, so they keep the committed .wasm files
#   unless --replace-python-js is given (see those scripts).
#
# Environment:
#   CARGO_TARGET_DIR  where cargo builds (default: each workspace's own target/)
#   CLANG             C compiler for wasm32-wasi (default: clang-16)
#   WASI_SYSROOT      sysroot holding include/wasm32-wasi and lib/wasm32-wasi (default: /usr)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SP="$ROOT/sample-projects"
TOOL_MANIFEST="$ROOT/tools/componentize/Cargo.toml"
CLANG="${CLANG:-clang-16}"
WASI_SYSROOT="${WASI_SYSROOT:-/usr}"
MAX_BYTES=$((2 * 1024 * 1024))

REPLACE_PY_JS=()
for arg in "$@"; do
    case "$arg" in
        --replace-python-js) REPLACE_PY_JS=(--replace) ;;
        *)
            echo "build-components: error: unknown argument '$arg' (the only option is --replace-python-js)" >&2
            exit 1
            ;;
    esac
done

APT_HINT="install it with: apt-get update && apt-get install -y clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32"

die() {
    echo "build-components: error: $*" >&2
    exit 1
}

step() {
    echo "==> $*"
}

# ------------------------------------------------------------------ toolchains
step "checking toolchains"
command -v cargo >/dev/null 2>&1 \
    || die "cargo not found; install Rust with rustup (then: rustup target add wasm32-wasip2)"
command -v rustc >/dev/null 2>&1 || die "rustc not found; install Rust with rustup"
if ! [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip2" ]; then
    die "the Rust target wasm32-wasip2 is not installed; install it with: rustup target add wasm32-wasip2"
fi
command -v "$CLANG" >/dev/null 2>&1 || die "C compiler '$CLANG' not found; $APT_HINT"
[ -f "$WASI_SYSROOT/include/wasm32-wasi/stdio.h" ] \
    || die "wasi-libc headers not found under $WASI_SYSROOT/include/wasm32-wasi; $APT_HINT"
[ -f "$WASI_SYSROOT/lib/wasm32-wasi/libc.a" ] \
    || die "wasi-libc library not found under $WASI_SYSROOT/lib/wasm32-wasi; $APT_HINT"
BUILTINS="$("$CLANG" --target=wasm32-wasi -print-libgcc-file-name)"
[ -f "$BUILTINS" ] || die "compiler-rt builtins for wasm32 not found ($BUILTINS); $APT_HINT"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# A probe link catches a missing wasm-ld (lld) or a broken sysroot.
printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$TMP/probe.c"
if ! "$CLANG" --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -O2 -o "$TMP/probe.wasm" "$TMP/probe.c" 2>"$TMP/probe.log"; then
    cat "$TMP/probe.log" >&2
    die "$CLANG cannot link a wasm32-wasi program (is wasm-ld from lld-16 installed?); $APT_HINT"
fi

componentize() {
    cargo run --quiet --release --locked --manifest-path "$TOOL_MANIFEST" -- "$@"
}

# ------------------------------------------------------------------ Rust components
step "building the Rust components (wasm32-wasip2, release)"
# Remap local paths so the binaries do not depend on where the repository lives.
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$ROOT=/airssys --remap-path-prefix=$CARGO_HOME_DIR=/cargo" \
    cargo build --release --locked --target wasm32-wasip2 --workspace --manifest-path "$SP/Cargo.toml"

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked --manifest-path "$SP/Cargo.toml" \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ -n "$TARGET_DIR" ] || die "could not find the guest workspace's target directory"
OUT="$TARGET_DIR/wasm32-wasip2/release"

copy_rust() { # crate_file_stem dest
    [ -f "$OUT/$1.wasm" ] || die "expected build output $OUT/$1.wasm is missing"
    mkdir -p "$(dirname "$2")"
    cp "$OUT/$1.wasm" "$2"
}
copy_rust upper "$SP/text-tools/components/upper.wasm"
copy_rust word_count "$SP/text-tools/components/word-count.wasm"
copy_rust json_pretty "$SP/text-tools/components/json-pretty.wasm"
copy_rust threshold_alert "$SP/iot-sensors/components/threshold-alert.wasm"
copy_rust sensor_stats "$SP/iot-sensors/components/sensor-stats.wasm"
copy_rust file_reader "$SP/text-tools/components/file-reader.wasm"
copy_rust markdown "$SP/blog-publisher/components/markdown.wasm"
copy_rust sanitize "$SP/blog-publisher/components/sanitize.wasm"
copy_rust page_meta "$SP/blog-publisher/components/page-meta.wasm"
copy_rust review_note "$SP/blog-publisher/components/review-note.wasm"
# Test fixtures for the host's sandbox and resource limits (not samples to copy).
copy_rust cap_probe "$SP/security-probes/components/cap-probe.wasm"
copy_rust hostile "$SP/security-probes/components/hostile.wasm"
copy_rust http_probe "$SP/security-probes/components/http-probe.wasm"
copy_rust waiter "$SP/security-probes/components/waiter.wasm"
copy_rust flood "$SP/security-probes/components/flood.wasm"

# ------------------------------------------------------------------ C component
step "building tools/componentize"
cargo build --quiet --release --locked --manifest-path "$TOOL_MANIFEST"

step "building sensor-csv (C, wasm32-wasi command)"
"$CLANG" --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -O2 -s -Wall -Wextra \
    -o "$TMP/sensor_csv.core.wasm" "$SP/iot-sensors/src/sensor-csv/sensor_csv.c"
componentize --command "$TMP/sensor_csv.core.wasm" "$SP/iot-sensors/components/sensor-csv.wasm"

# ------------------------------------------------------------------ checks
step "checking the components"
GUEST="airssys:component/guest@0.1.0"
STATE="airssys:component/state@0.1.0"

check() { # file kind(plugin|stateful|command)
    local file="$1" kind="$2" magic size interfaces
    magic="$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')"
    [ "$magic" = "0061736d0d000100" ] || die "$file is not a WebAssembly component (header $magic)"
    size="$(wc -c <"$file")"
    [ "$size" -lt "$MAX_BYTES" ] || die "$file is $size bytes, over the 2 MiB limit"
    interfaces="$(componentize --interfaces "$file")"
    case "$kind" in
        plugin | stateful)
            grep -qx "export $GUEST" <<<"$interfaces" || die "$file does not export $GUEST"
            if [ "$kind" = stateful ]; then
                grep -qx "export $STATE" <<<"$interfaces" || die "$file does not export $STATE"
            elif grep -qx "export $STATE" <<<"$interfaces"; then
                die "$file exports $STATE but is meant to be stateless"
            fi
            ;;
        command)
            grep -q "^export wasi:cli/run@0\.2\." <<<"$interfaces" || die "$file does not export wasi:cli/run"
            ;;
    esac
    printf '  %-60s %7d bytes  %s\n' "${file#"$ROOT"/}" "$size" \
        "$(grep '^export' <<<"$interfaces" | sed 's/^export //' | paste -sd' ' -)"
}

check "$SP/text-tools/components/upper.wasm" plugin
check "$SP/text-tools/components/word-count.wasm" plugin
check "$SP/text-tools/components/json-pretty.wasm" plugin
check "$SP/iot-sensors/components/threshold-alert.wasm" plugin
check "$SP/iot-sensors/components/sensor-stats.wasm" stateful
check "$SP/iot-sensors/components/sensor-csv.wasm" command
check "$SP/text-tools/components/file-reader.wasm" plugin
check "$SP/blog-publisher/components/markdown.wasm" plugin
check "$SP/blog-publisher/components/sanitize.wasm" plugin
check "$SP/blog-publisher/components/page-meta.wasm" plugin
check "$SP/blog-publisher/components/review-note.wasm" plugin
check "$SP/security-probes/components/cap-probe.wasm" plugin
check "$SP/security-probes/components/hostile.wasm" plugin
check "$SP/security-probes/components/http-probe.wasm" plugin
check "$SP/security-probes/components/waiter.wasm" plugin
check "$SP/security-probes/components/flood.wasm" command
# http-probe must reach the network through wasi:http, so it has to import the outgoing handler.
grep -q "^import wasi:http/outgoing-handler@0\.2\." <<<"$(componentize --interfaces "$SP/security-probes/components/http-probe.wasm")" \
    || die "security-probes/components/http-probe.wasm does not import wasi:http/outgoing-handler"

step "done: 16 components rebuilt (Rust and C)"

# ------------------------------------------------------------------ jaq, Python and JavaScript
"$SP/build-wasi-tools.sh"
"$SP/build-python.sh" "${REPLACE_PY_JS[@]}"
"$SP/build-js.sh" "${REPLACE_PY_JS[@]}"
