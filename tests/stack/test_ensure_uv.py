"""scripts/ensure-uv.sh on a machine without uv: it installs uv into the Python 3.13 that
.python-version selects, and uv then answers. The machine is simulated by a PATH that holds
a scratch virtual environment of this Python 3.13 and the system's own folders, no uv; the
pyenv trap by a pyenv root of the test's own, with uv in another Python version only."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEM_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"
BASH = shutil.which("bash", path=SYSTEM_PATH) or "/bin/bash"


def machine_env(path: str, home: Path) -> dict[str, str]:
    """A bare environment: nothing of the developer's PATH, pyenv or virtual environment, and
    a home folder of the test's own (pip's cache goes there, not into the developer's)."""
    if shutil.which("uv", path=path) is not None:
        pytest.fail(f"uv is on the scratch PATH {path}; this test needs a machine without it")
    home.mkdir(exist_ok=True)
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}


def run_ensure_uv(repo_root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(repo_root / "scripts" / "ensure-uv.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_uv_is_installed_into_the_projects_python_and_answers(
    repo_root: Path, tmp_path: Path
) -> None:
    python = tmp_path / "python313"
    subprocess.run([sys.executable, "-m", "venv", str(python)], check=True, timeout=300)
    env = machine_env(f"{python / 'bin'}:{SYSTEM_PATH}", tmp_path / "home")

    result = run_ensure_uv(repo_root, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"installing it into {python / 'bin' / 'python'}" in result.stdout
    assert (python / "bin" / "uv").is_file()
    answer = subprocess.run(
        ["uv", "--version"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert re.fullmatch(r"uv \d+\.\d+\.\d+.*\n", answer.stdout)
    assert answer.stdout.strip() in result.stdout
    # Run again, it finds uv and installs nothing.
    again = run_ensure_uv(repo_root, env)
    assert again.returncode == 0
    assert again.stdout == answer.stdout


def test_without_the_projects_python_it_says_what_is_missing(
    repo_root: Path, tmp_path: Path
) -> None:
    """A PATH holding only the two commands the script needs besides bash: no Python at all."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for command in ("tr", "dirname"):
        found = shutil.which(command, path=SYSTEM_PATH)
        assert found is not None, command
        (tools / command).symlink_to(found)
    wanted = (repo_root / ".python-version").read_text().strip()

    result = run_ensure_uv(repo_root, machine_env(str(tools), tmp_path / "home"))

    assert result.returncode == 1
    assert f"no Python {wanted} is on PATH" in result.stderr
    assert "installing" not in result.stdout


def test_the_pyenv_shim_trap_is_avoided_by_installing_into_the_selected_version(
    repo_root: Path, tmp_path: Path
) -> None:
    """uv in another pyenv version only: its shim exists, but in a folder whose
    .python-version selects 3.13 it answers "pyenv: uv: command not found"."""
    pyenv = shutil.which("pyenv", path=f"{Path.home() / '.pyenv' / 'bin'}:{SYSTEM_PATH}")
    real_uv = os.environ.get("UV")  # set by `uv run`, which runs this suite
    if pyenv is None or real_uv is None:
        pytest.fail("this test needs pyenv and to run under `uv run` (it reads $UV)")
    root = tmp_path / "pyenv"
    # This suite's Python is the one .python-version selects; its full version names it.
    selected = root / "versions" / "{}.{}.{}".format(*sys.version_info[:3])
    subprocess.run([sys.executable, "-m", "venv", str(selected)], check=True, timeout=300)
    other = root / "versions" / "3.11.99" / "bin"
    other.mkdir(parents=True)
    (other / "uv").symlink_to(real_uv)
    env = machine_env(f"{root / 'shims'}:{Path(pyenv).parent}:{SYSTEM_PATH}", tmp_path / "home")
    env["PYENV_ROOT"] = str(root)
    subprocess.run([pyenv, "rehash"], env=env, check=True, timeout=60)
    trapped = subprocess.run(
        ["uv", "--version"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=60
    )
    assert trapped.returncode != 0
    assert "pyenv: uv: command not found" in trapped.stderr

    result = run_ensure_uv(repo_root, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing it into" in result.stdout
    assert (selected / "bin" / "uv").is_file()
    answer = subprocess.run(
        ["uv", "--version"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() in result.stdout
