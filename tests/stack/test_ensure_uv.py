"""scripts/ensure-uv.sh on a machine without uv: it installs uv into the Python 3.13 that
.python-version selects, and uv then answers. The machine is simulated by a PATH that holds
a scratch virtual environment of this Python 3.13 and the system's own folders, no uv."""

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
