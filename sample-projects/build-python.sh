#!/usr/bin/env bash
# Builds the Python sample components with componentize-py and checks them.
#
#   sample-projects/build-python.sh [--replace]
#
# componentize-py builds are NOT byte-reproducible (the interpreter's heap is
# snapshotted at build time), so this script never overwrites a committed
# .wasm unless asked: without --replace (or REPLACE_COMMITTED=1) it builds
# each component into a temporary folder, runs the same checks, says that it
# kept the committed file, and leaves the new build where it tells you. CI
# checks the committed components' behaviour (host-core's tests/all/languages.rs
# and `airssys test`), not their bytes.
#
# Needs python3 (3.10 or newer, with venv) and PyPI. componentize-py, pinned by
# guest-toolchains/requirements-python.txt, is installed into a virtual
# environment under $AIRSSYS_GUEST_TOOLS (default ~/.cache/airssys-guest-tools).
#
# A component is built against wit/component.wit (world `plugin`) with
# --stub-wasi: every WASI import is replaced by a trapping stub, so the
# component imports only the contract's `host` interface (and its `types`).
# The Python code therefore has no files, clock, randomness or stdio at run
# time (Python's `random` is seeded at build time): it gets data only through
# `execute`, and logs through `host.log`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SP="$ROOT/sample-projects"
WIT="$ROOT/wit/component.wit"
REQUIREMENTS="$SP/guest-toolchains/requirements-python.txt"
TOOLS="${AIRSSYS_GUEST_TOOLS:-$HOME/.cache/airssys-guest-tools}"
TOOL_MANIFEST="$ROOT/tools/componentize/Cargo.toml"
REPLACE="${REPLACE_COMMITTED:-0}"

die() {
    echo "build-python: error: $*" >&2
    exit 1
}
step() { echo "==> $*"; }

for arg in "$@"; do
    case "$arg" in
        --replace) REPLACE=1 ;;
        -h | --help)
            sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument '$arg' (the only option is --replace)" ;;
    esac
done

# ------------------------------------------------------------------ toolchain
step "checking the Python toolchain"
command -v python3 >/dev/null 2>&1 || die "python3 not found; install Python 3.10 or newer"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "python3 is $(python3 --version 2>&1); componentize-py needs 3.10 or newer"
python3 -c 'import venv' 2>/dev/null || die "python3 has no venv module; on Debian: apt-get install -y python3-venv"
PIN="$(grep -v '^#' "$REQUIREMENTS" | grep -m1 '^componentize-py==' || true)"
[ -n "$PIN" ] || die "$REQUIREMENTS does not pin componentize-py"
VENV="$TOOLS/venv-${PIN/==/-}"
if ! [ -x "$VENV/bin/componentize-py" ]; then
    step "installing $PIN into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" \
        || die "could not install $PIN from PyPI (see pip's message above)"
fi
CPY="$VENV/bin/componentize-py"
echo "  $("$CPY" --version)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
OUT_DIR="${BUILD_OUT_DIR:-$TMP/out}"
mkdir -p "$OUT_DIR"

componentize_tool() {
    cargo run --quiet --release --locked --manifest-path "$TOOL_MANIFEST" -- "$@"
}

# ------------------------------------------------------------------ components
# build NAME PROJECT MODULE: src is PROJECT/src/NAME, the app module MODULE.py
build() {
    local name="$1" project="$2" module="$3"
    local src="$SP/$project/src/$name" built="$OUT_DIR/$name.wasm"
    local committed="$SP/$project/components/$name.wasm"
    step "$name: unit tests (python3 -m unittest, natively)"
    (cd "$src" && PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s . -p 'test_*.py' 2>&1) \
        || die "$name: unit tests failed"
    step "$name: componentize-py (world plugin, WASI stubbed)"
    # Only the component's own modules go in: not its tests (nor a __pycache__).
    local stage="$TMP/src-$name"
    mkdir -p "$stage"
    find "$src" -maxdepth 1 -name '*.py' ! -name 'test_*.py' -exec cp {} "$stage/" \;
    (cd "$stage" && "$CPY" -q -d "$WIT" -w plugin componentize "$module" -p . --stub-wasi -o "$built") \
        || die "$name: componentize-py failed"
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
    local file="$1" interfaces magic
    magic="$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')"
    [ "$magic" = "0061736d0d000100" ] || die "$file is not a WebAssembly component (header $magic)"
    interfaces="$(componentize_tool --interfaces "$file")"
    grep -qx "export airssys:component/guest@0.1.0" <<<"$interfaces" \
        || die "$file does not export airssys:component/guest@0.1.0"
    local imports
    imports="$(grep '^import ' <<<"$interfaces" | sed 's/^import //' | sort | paste -sd' ' -)"
    [ "$imports" = "airssys:component/host@0.1.0 airssys:component/types@0.1.0" ] \
        || die "$file imports $imports; expected only airssys:component/host and types (is --stub-wasi missing?)"
    printf '  %-50s %9d bytes  imports %s\n' "$(basename "$file")" "$(wc -c <"$file")" "$imports"
}

build sensor-report iot-sensors app

step "done"
