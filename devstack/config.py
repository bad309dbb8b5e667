"""What the supervisor runs, read once from the environment (see .env.example)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOGIN_PORT = 8000
DEV_REGISTRATION_BUDGET = 10_000  # registrations per client network and hour under make dev
DEFAULT_PROMOTION_PORT = 8001
DEFAULT_CONSUMER_METRICS_PORT = 9101
LOCAL_RABBITMQ_HOST = "127.0.0.1"
LOCAL_RABBITMQ_PORT = 5672


class ConfigError(ValueError):
    """A DEV_* or fixed setting has a value the supervisor cannot use."""


def find_repo_root(start: Path) -> Path:
    """The nearest folder above `start` that holds both services."""
    for folder in (start, *start.parents):
        if (folder / "login_service").is_dir() and (folder / "promotion_service").is_dir():
            return folder
    raise ConfigError(f"no folder above {start} contains login_service/ and promotion_service/")


@dataclass(frozen=True)
class StackConfig:
    """Settings of one local run. `None` for MongoDB/RabbitMQ means: provide one locally."""

    repo_root: Path
    mongodb_uri: str | None
    rabbitmq_url: str | None
    login_port: int
    promotion_port: int
    consumers: int
    data_dir: Path
    ready_timeout: float
    colour: str
    # Where a local broker answers when RABBITMQ_URL is unset (LOCAL_RABBITMQ_HOST/_PORT).
    local_rabbitmq_host: str = LOCAL_RABBITMQ_HOST
    local_rabbitmq_port: int = LOCAL_RABBITMQ_PORT

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.login_port}"

    @property
    def promotion_url(self) -> str:
        return f"http://127.0.0.1:{self.promotion_port}"

    @property
    def broker_url(self) -> str:
        """RABBITMQ_URL, else the local broker's default guest account."""
        local = f"amqp://guest:guest@{self.local_rabbitmq_host}:{self.local_rabbitmq_port}/"
        return self.rabbitmq_url or local


def load_config(env: Mapping[str, str], repo_root: Path) -> StackConfig:
    """Read the four fixed names and the DEV_* settings; unset means the local default."""
    data_dir = Path(env.get("DEV_DATA_DIR") or repo_root / ".data")
    if not data_dir.is_absolute():
        data_dir = repo_root / data_dir
    colour = env.get("DEV_COLOR", "auto")
    if colour not in {"auto", "always", "never"}:
        raise ConfigError(f"DEV_COLOR must be auto, always or never, not {colour!r}")
    return StackConfig(
        repo_root=repo_root,
        mongodb_uri=env.get("MONGODB_URI") or None,
        rabbitmq_url=env.get("RABBITMQ_URL") or None,
        login_port=_int(env, "LOGIN_PORT", DEFAULT_LOGIN_PORT, low=1, high=65535),
        promotion_port=_int(env, "PROMOTION_PORT", DEFAULT_PROMOTION_PORT, low=1, high=65535),
        consumers=_int(env, "DEV_CONSUMERS", 2, low=0, high=32),
        data_dir=data_dir,
        ready_timeout=float(_int(env, "DEV_READY_TIMEOUT", 180, low=1, high=3600)),
        colour=colour,
        local_rabbitmq_host=env.get("LOCAL_RABBITMQ_HOST") or LOCAL_RABBITMQ_HOST,
        local_rabbitmq_port=_int(
            env, "LOCAL_RABBITMQ_PORT", LOCAL_RABBITMQ_PORT, low=1, high=65535
        ),
    )


def service_env(config: StackConfig, base: Mapping[str, str], mongodb_uri: str) -> dict[str, str]:
    """Environment of every service process: the caller's, plus the four fixed names."""
    env = {key: value for key, value in base.items() if key != "VIRTUAL_ENV"}
    env.update(
        MONGODB_URI=mongodb_uri,
        RABBITMQ_URL=config.broker_url,
        LOGIN_PORT=str(config.login_port),
        PROMOTION_PORT=str(config.promotion_port),
        PYTHONUNBUFFERED="1",
        UV_PYTHON_DOWNLOADS=env.get("UV_PYTHON_DOWNLOADS", "never"),
    )
    # The promotion API verifies tokens with the keys of the login API started next to it.
    env.setdefault("PROMOTION_JWKS_URL", f"{config.login_url}/.well-known/jwks.json")
    # All login workers share one generated development key, kept with the other local data.
    env.setdefault("LOGIN_DEV_KEY_DIR", str(config.data_dir / "login-dev-keys"))
    # One developer (and the end-to-end tests) sign up many accounts from one address.
    env.setdefault("LOGIN_THROTTLE_REGISTRATION_MAX_ATTEMPTS", str(DEV_REGISTRATION_BUDGET))
    return env


def with_env_file(env: Mapping[str, str], repo_root: Path) -> dict[str, str]:
    """`env` completed by the KEY=VALUE lines of DEV_ENV_FILE (default .env; empty: none).

    Variables already set in the environment win over the file.
    """
    name = env.get("DEV_ENV_FILE", ".env")
    merged = dict(env)
    if not name:
        return merged
    path = Path(name) if Path(name).is_absolute() else repo_root / name
    if not path.is_file():
        return merged
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        merged.setdefault(key, value)
    return merged


def consumer_metrics_ports(base: Mapping[str, str], count: int) -> list[int]:
    """One metrics port per consumer on this host: the configured one, then the next ones."""
    first = _int(
        base, "PROMOTION_CONSUMER_METRICS_PORT", DEFAULT_CONSUMER_METRICS_PORT, low=0, high=65535
    )
    return [0 if first == 0 else first + index for index in range(count)]


def check_ports(config: StackConfig, env: Mapping[str, str]) -> None:
    """Refuse (ConfigError) ports the stack would bind twice or that are taken already, naming
    the setting to change, before any process starts (a clash would end in a traceback)."""
    wanted = [("LOGIN_PORT", config.login_port), ("PROMOTION_PORT", config.promotion_port)]
    for number, port in enumerate(consumer_metrics_ports(env, config.consumers), start=1):
        if port:
            setting = "PROMOTION_CONSUMER_METRICS_PORT"
            wanted.append((f"{setting} (consumer {number}: {setting} + {number - 1})", port))
    seen: dict[int, str] = {}
    for setting, port in wanted:
        if port == 0:  # a free port, picked when it binds
            continue
        if port in seen:
            raise ConfigError(
                f"{setting} and {seen[port]} both want port {port}: change one of them"
            )
        seen[port] = setting
        with socket.socket() as probe:
            # As the servers bind: a port a stopped run left in TIME_WAIT is free to them.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise ConfigError(
                    f"port {port} ({setting}) is in use on 127.0.0.1: stop what holds it, "
                    f"or set {setting.split()[0]} to a free port"
                ) from None


def redact_credentials(url: str) -> str:
    """The URL with its password replaced by *** (for printing)."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hosts}{slash}{path}"


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def environ() -> dict[str, str]:
    """A copy of the process environment (kept in one place so tests can pass their own)."""
    return dict(os.environ)
