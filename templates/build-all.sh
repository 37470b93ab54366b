#!/usr/bin/env bash
# Renders each `airssys new` template into a temporary folder, builds it with
# its real toolchain, and checks the component with the built airssys:
#
#   templates/build-all.sh [--keep] [LANG...]     LANG: rust c python js (default: all four)
#
# For each language: `airssys new demo-LANG --lang LANG`, `./build.sh`,
# `airssys inspect` (a contract component named demo-LANG, version 0.1.0),
# `airssys test .` (the project's own case must pass), and `airssys call`
# twice to prove the four behave the same: with `--config 'prefix=> '` the
# input `hello, wörld` must give `> HELLO, WöRLD`, and an unknown config key
# must fail init with `unknown config key `bogus`: the only key is `prefix``.
# The C, Python and JavaScript components must import only the contract.
#
# Not run by CI: it needs every toolchain (see each template's README.md) and
# the network for their first install.
#
# Environment:
#   AIRSSYS   the airssys binary (default: $CARGO_TARGET_DIR/release/airssys,
#             else target/release/airssys; build it with
#             cargo build --release -p host-core --bin airssys)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP=0
LANGS=()
for arg in "$@"; do
    case "$arg" in
        --keep) KEEP=1 ;;
        rust | c | python | js) LANGS+=("$arg") ;;
        *)
            echo "build-all: error: unknown argument '$arg' (options: --keep, and languages rust c python js)" >&2
            exit 2
            ;;
    esac
done
[ "${#LANGS[@]}" -gt 0 ] || LANGS=(rust c python js)

AIRSSYS="${AIRSSYS:-${CARGO_TARGET_DIR:-$ROOT/target}/release/airssys}"
[ -x "$AIRSSYS" ] || {
    echo "build-all: error: $AIRSSYS not found; build it: cargo build --release -p host-core --bin airssys (or set AIRSSYS)" >&2
    exit 1
}

TMP="$(mktemp -d)"
if [ "$KEEP" = 1 ]; then
    echo "the projects stay in $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi
# A private compile cache, so the run leaves nothing behind.
export AIRSSYS_CACHE_DIR="$TMP/compiled"

RESULTS=()
FAILED=0

# fail LANG MESSAGE
fail() {
    echo "  FAIL: $2" >&2
    RESULTS+=("$(printf '%-7s FAIL  %s' "$1" "$2")")
    FAILED=$((FAILED + 1))
}

# check LANG: every step for one language; returns 1 at the first failure.
check() {
    local lang="$1" name="demo-$1" dir="$TMP/$1" wasm out start seconds size
    echo "==> $lang: airssys new $name --lang $lang"
    "$AIRSSYS" new "$name" --lang "$lang" --dir "$dir" >/dev/null || { fail "$lang" "airssys new failed"; return 1; }
    wasm="$dir/components/$name.wasm"

    echo "==> $lang: ./build.sh"
    start=$(date +%s)
    (cd "$dir" && ./build.sh) || { fail "$lang" "./build.sh failed"; return 1; }
    seconds=$(($(date +%s) - start))
    size=$(wc -c <"$wasm")

    echo "==> $lang: airssys inspect"
    out="$("$AIRSSYS" inspect "$wasm")" || { fail "$lang" "airssys inspect failed"; return 1; }
    echo "$out" | sed 's/^/  /'
    grep -q "kind *contract component, airssys:component@0.1.0" <<<"$out" \
        || { fail "$lang" "inspect: not a contract component"; return 1; }
    grep -q "name *$name 0.1.0" <<<"$out" || { fail "$lang" "inspect: metadata is not $name 0.1.0"; return 1; }
    if [ "$lang" != rust ]; then
        # Everything between "imports" and "exports" must be the contract.
        local imports
        imports="$(sed -n '/^  imports/,/^  exports/p' <<<"$out" | sed '1d;$d' | tr -d ' ' | sort | paste -sd' ' -)"
        [ "$imports" = "airssys:component/host@0.1.0 airssys:component/types@0.1.0" ] \
            || { fail "$lang" "imports $imports; expected only the contract"; return 1; }
    fi

    echo "==> $lang: airssys test ."
    out="$(cd "$dir" && "$AIRSSYS" test .)" || { echo "$out"; fail "$lang" "airssys test failed"; return 1; }
    echo "$out" | sed 's/^/  /'
    [ "$(tail -n 1 <<<"$out")" = "1 passed, 0 failed" ] || { fail "$lang" "airssys test: $(tail -n 1 <<<"$out")"; return 1; }

    echo "==> $lang: airssys call (config prefix, non-ASCII bytes kept, an unknown config key)"
    out="$(printf 'hello, w\303\266rld' | "$AIRSSYS" call "$wasm" --input - --config 'prefix=> ')" \
        || { fail "$lang" "airssys call failed"; return 1; }
    [ "$out" = "$(printf '> HELLO, W\303\266RLD')" ] || { fail "$lang" "airssys call printed '$out'"; return 1; }
    echo "  $out"
    if out="$("$AIRSSYS" call "$wasm" --config bogus=1 2>&1)"; then
        fail "$lang" "an unknown config key was accepted"
        return 1
    fi
    grep -qF 'unknown config key `bogus`: the only key is `prefix` (invalid-config)' <<<"$out" \
        || { fail "$lang" "unknown config key: $out"; return 1; }
    echo "  $out"

    RESULTS+=("$(printf '%-7s ok    %9d bytes, built in %3d s; inspect, test (1 passed), call: same output and error' \
        "$lang" "$size" "$seconds")")
}

for lang in "${LANGS[@]}"; do
    check "$lang" || true
done

echo
echo "== summary ($("$AIRSSYS" --version))"
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED of ${#LANGS[@]} failed"
    exit 1
fi
echo "all ${#LANGS[@]} templates built and passed"
