#!/usr/bin/env bash
# Make sure `uv` answers, using the Python 3.13 that .python-version selects.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if uv --version >/dev/null 2>&1; then
  uv --version
  exit 0
fi
python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore uv
command -v pyenv >/dev/null 2>&1 && pyenv rehash
uv --version
