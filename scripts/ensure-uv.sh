#!/usr/bin/env bash
# Make sure `uv` answers. Where it does not, install it with pip into the Python that
# .python-version selects: pyenv's `python` in this folder, else python3.X on PATH.
# Into that Python and no other: pyenv's `uv` shim only runs a uv installed in the version
# the folder selects (elsewhere it fails with "pyenv: uv: command not found").
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

if uv --version >/dev/null 2>&1; then
  uv --version
  exit 0
fi

WANTED="$(tr -d '[:space:]' < .python-version)"  # for instance 3.13
python_for_project() {
  local candidate
  for candidate in python python3 "python${WANTED%.*}" "python$WANTED"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "import sys; v = '%d.%d.%d' % sys.version_info[:3]; \
sys.exit(0 if v == '$WANTED' or v.startswith('$WANTED.') else 1)" 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if ! PYTHON="$(python_for_project)"; then
  echo "uv is not installed and no Python $WANTED is on PATH (.python-version asks for it):" \
    "install Python $WANTED, or uv (https://docs.astral.sh/uv/), and run this again" >&2
  exit 1
fi

echo "uv is not installed: installing it into $PYTHON (Python $WANTED) with pip (about 10 s)"
if ! "$PYTHON" -m pip install --disable-pip-version-check --root-user-action=ignore \
  --progress-bar off uv; then
  echo "pip could not install uv into $PYTHON (see above): install uv another way" \
    "(https://docs.astral.sh/uv/getting-started/installation/) and run this again" >&2
  exit 1
fi
if command -v pyenv >/dev/null 2>&1; then
  pyenv rehash
fi

if ! uv --version 2>/dev/null; then
  where="$("$PYTHON" -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || echo "?")"
  echo "uv was installed ($where) but \`uv\` does not run from PATH: add its folder to PATH" >&2
  exit 1
fi
