"""Facts read from inside a service's own environment (each service is its own uv project).

The root project never imports a service: it runs a short script with `uv run --project`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SERVICES = {"login": "login_service", "promotion": "promotion_service"}

# Finds the app factory and the settings class, builds the app with default settings.
_OPENAPI_SCRIPT = """
import importlib, json, sys
package, target = sys.argv[1], sys.argv[2]
settings_cls = importlib.import_module(package + ".config").Settings
for name in (".main", ".app", ""):
    module = importlib.import_module(package + name)
    if hasattr(module, "create_app"):
        break
else:
    raise SystemExit("no create_app in " + package)
app = module.create_app(settings_cls())
with open(target, "w", encoding="utf-8") as out:
    json.dump(app.openapi(), out)
"""

# Every environment variable the settings class reads, with its default as env text.
_SETTINGS_SCRIPT = """
import importlib, json, sys
package, target = sys.argv[1], sys.argv[2]
settings_cls = importlib.import_module(package + ".config").Settings
prefix = settings_cls.model_config.get("env_prefix", "")

def as_env_text(value):
    if value is None:
        return ""
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)

names = {}
for field_name, field in settings_cls.model_fields.items():
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        name = str(choices[0])
    elif isinstance(alias, str):
        name = alias
    else:
        name = prefix + field_name
    names[name.upper()] = as_env_text(field.default)
with open(target, "w", encoding="utf-8") as out:
    json.dump(names, out)
"""


class ServiceScriptError(RuntimeError):
    """The script could not run in the service's environment."""


def _clean_env() -> dict[str, str]:
    """Only what uv and Python need: no LOGIN_*/PROMOTION_* of the caller leaks into defaults."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYENV_VERSION", "PYENV_ROOT", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update({key: value for key, value in os.environ.items() if key.startswith("UV_")})
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    return env


def _run(repo_root: Path, service: str, script: str) -> Any:
    package = SERVICES[service]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "out.json"
        argv = ["uv", "run", "--frozen", "--quiet", "--project", str(repo_root / package),
                "python", "-c", script, package, str(target)]  # fmt: skip
        result = subprocess.run(
            argv, cwd=folder, env=_clean_env(), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not target.exists():
            raise ServiceScriptError(
                f"{package}: script failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
        return json.loads(target.read_text(encoding="utf-8"))


def openapi_document(repo_root: Path, service: str) -> dict[str, Any]:
    """The OpenAPI document of a service's app, built by its create_app with default settings."""
    document: dict[str, Any] = _run(repo_root, service, _OPENAPI_SCRIPT)
    return document


def settings_env_names(repo_root: Path, service: str) -> dict[str, str]:
    """Environment variable name -> its default as env text ("" for none), for every setting."""
    names: dict[str, str] = _run(repo_root, service, _SETTINGS_SCRIPT)
    return names
