"""Entry point: `python -m devstack` runs the whole system locally (see README.md)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from devstack.config import (
    ConfigError,
    check_ports,
    environ,
    find_repo_root,
    load_config,
    with_env_file,
)
from devstack.console import Console, colour_wanted
from devstack.supervisor import run


def main() -> int:
    try:
        repo_root = find_repo_root(Path(__file__).resolve().parent)
        env = with_env_file(environ(), repo_root)
        config = load_config(env, repo_root)
        check_ports(config, env)
    except ConfigError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 2
    console = Console(colour=colour_wanted(sys.stdout, config.colour))
    return asyncio.run(run(config, console, env))


if __name__ == "__main__":
    sys.exit(main())
