# shellcheck shell=bash
# Shared by ./run and ./test (sourced, not executed): the project's virtual environment.
#
# ensure_venv FILE...  creates .venv on first use (Python 3.11 preferred) and activates it;
#                      then `pip install -r FILE` for every requirements FILE whose content
#                      changed since its last install (a sha256 stamp per file inside .venv),
#                      and `pip install -e . --no-deps` (the `cmcsl` command) when pyproject.toml
#                      is new or changed. Nothing is installed when nothing changed.
# extra_requirements   the requirements files of the extras named in $CMCSL_EXTRAS
#                      (comma-separated; "torch" -> requirements-torch.txt).

venv_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: no python3 found; install Python 3.11 (Debian: apt-get install python3 python3-venv)" >&2
    return 1
}

# install_if_changed STAMP_NAME FILE COMMAND...: run COMMAND when FILE's hash differs from the stamp.
install_if_changed() {
    local stamp=".venv/.installed-$1.sha256" file="$2"
    shift 2
    local want
    want="$(sha256sum "$file" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    echo "== installing $file into .venv" >&2
    "$@"
    echo "$want" >"$stamp"
}

extra_requirements() {
    local extra
    for extra in ${CMCSL_EXTRAS:+${CMCSL_EXTRAS//,/ }}; do
        case "$extra" in
            torch) echo requirements-torch.txt ;;
            *) echo "error: unknown extra '$extra' in CMCSL_EXTRAS; the extras are: torch" >&2; return 1 ;;
        esac
    done
}

ensure_venv() {
    if [[ ! -x .venv/bin/python ]]; then
        local python
        python="$(venv_python)"
        echo "== creating .venv with $("$python" --version 2>&1) (Debian's own Python refuses pip install outside a venv)" >&2
        if ! "$python" -m venv .venv; then
            echo "error: could not create .venv; on Debian install the venv module: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    local file
    for file in "$@"; do
        install_if_changed "$(basename "$file")" "$file" python -m pip install --quiet -r "$file"
    done
    if [[ -f pyproject.toml ]]; then
        install_if_changed pyproject.toml pyproject.toml python -m pip install --quiet -e . --no-deps
    fi
}
