"""A frontend can generate a typed client from docs/openapi/*.json and call every operation.

clients/typescript/ holds the generator and compiler (locked in package-lock.json) and one
call of each operation per service. The test copies that folder and the documents into a
temporary folder, installs with `npm ci`, generates the client with openapi-typescript and
type-checks the calls with `tsc`. Node.js 20+ and npm must be installed: without them the
test fails, saying so.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SERVICES = ("login", "promotion")
CLIENT = Path("clients") / "typescript"
NPM_TIMEOUT_SECONDS = 900
_OPERATION_TYPE = re.compile(r'operations\["(\w+)"\]')


def _operation_ids(repo_root: Path, service: str) -> set[str]:
    document = json.loads((repo_root / "docs" / "openapi" / f"{service}.json").read_text())
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if "operationId" in operation
    }


def _npm() -> str:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail(
            "Node.js and npm are needed to generate and type-check the TypeScript client "
            "(Node.js 20 or newer; on Debian: apt-get install -y nodejs npm).",
            pytrace=False,
        )
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    if int(node_version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"Node.js 20 or newer is needed, found {node_version}.", pytrace=False)
    return npm


def _run(npm: str, folder: Path, *args: str) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    result = subprocess.run(
        [npm, *args], cwd=folder, env=env, capture_output=True, text=True,
        timeout=NPM_TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    output = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, f"`npm {' '.join(args)}` failed:\n{output}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_typescript_calls_use_every_operation_of_the_document(
    repo_root: Path, service: str
) -> None:
    calls = (repo_root / CLIENT / "src" / f"{service}.ts").read_text(encoding="utf-8")

    assert set(_OPERATION_TYPE.findall(calls)) == _operation_ids(repo_root, service)


def test_a_generated_typescript_client_type_checks_a_call_of_each_operation(
    repo_root: Path, tmp_path: Path
) -> None:
    npm = _npm()
    client = tmp_path / CLIENT
    client.mkdir(parents=True)
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        shutil.copy2(repo_root / CLIENT / name, client / name)
    (client / "src").mkdir()
    for service in SERVICES:
        shutil.copy2(repo_root / CLIENT / "src" / f"{service}.ts", client / "src")
    shutil.copytree(repo_root / "docs" / "openapi", tmp_path / "docs" / "openapi")

    _run(npm, client, "ci", "--no-audit")
    _run(npm, client, "run", "generate")
    for service in SERVICES:
        generated = (client / "src" / "generated" / f"{service}.ts").read_text(encoding="utf-8")
        for operation_id in _operation_ids(repo_root, service):
            assert f"{operation_id}: {{" in generated, (service, operation_id)
    _run(npm, client, "run", "check")
