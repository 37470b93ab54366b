#!/usr/bin/env bash
# Builds components/{{name}}.wasm from src/app.py with componentize-py.
#
#   ./build.sh
#
# componentize-py (the version pinned in toolchain/requirements-python.txt) is
# installed into a virtual environment under $AIRSSYS_GUEST_TOOLS (default
# ~/.cache/airssys-guest-tools) the first time. The component is built against
# wit/component.wit (world `plugin`) with --stub-wasi: every WASI import is
# replaced by a trapping stub, so it imports only the contract.
#
# Needs python3 (3.10 or newer, with venv) and PyPI for the first install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TOOLS="${AIRSSYS_GUEST_TOOLS:-$HOME/.cache/airssys-guest-tools}"
REQUIREMENTS=toolchain/requirements-python.txt

die() {
    echo "build: error: $*" >&2
    exit 1
}

command -v python3 >/dev/null 2>&1 || die "python3 not found; install Python 3.10 or newer"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "python3 is $(python3 --version 2>&1); componentize-py needs 3.10 or newer"
PIN="$(grep -m1 '^componentize-py==' "$REQUIREMENTS" || true)"
[ -n "$PIN" ] || die "$REQUIREMENTS does not pin componentize-py"
VENV="$TOOLS/venv-${PIN/==/-}"
if ! [ -x "$VENV/bin/componentize-py" ]; then
    python3 -c 'import venv' 2>/dev/null || die "python3 has no venv module; on Debian: apt-get install -y python3-venv"
    echo "installing $PIN into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" \
        || die "could not install $PIN from PyPI (see pip's message above)"
fi

mkdir -p components
"$VENV/bin/componentize-py" -q -d wit -w plugin componentize app -p src --stub-wasi -o components/{{name}}.wasm
echo "built components/{{name}}.wasm ($(wc -c <components/{{name}}.wasm) bytes)"
