#!/usr/bin/env bash
# Build the light environment (requirements.txt + the project, no torch) in a fresh venv, measure
# it, and use it (scripts/check_light_install.py: an export of a real image + text table, the
# torch-only options' errors, every page of the app). Used by CI (.ci/run).
#
# Usage: scripts/check_light_install.sh [VENV_DIR]   (default .cache/venv-light, rebuilt every time;
# under .cache/ so that nothing scanning the tree, e.g. tests/test_library_rules.py, reads it)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/venv.sh
. scripts/venv.sh
venv="${1:-.cache/venv-light}"
python="$(venv_python)"
rm -rf "$venv"
start=$SECONDS
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet -r requirements.txt
"$venv/bin/python" -m pip install --quiet -e . --no-deps
echo "== light environment $venv: $(du -sh "$venv" | cut -f1) on disk, installed in $((SECONDS - start)) s"
"$venv/bin/python" scripts/check_light_install.py
