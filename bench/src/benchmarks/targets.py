"""The run's processes as cost targets: which process groups and which ``/metrics`` each has."""

import asyncio

from benchmarks.meter import IdleRates, Target, idle_rates, wait_until_quiet
from benchmarks.stack import Stack


def _target(stack: Stack, label: str, names: list[str], metrics: tuple[str, ...] = ()) -> Target:
    children = stack.groups.children
    return Target(label, tuple(c.pid for n in names for c in children if c.name == n), metrics)


def login(stack: Stack) -> Target:
    return _target(stack, "login", ["login"], (f"{stack.login_url}/metrics",))


def promotion_api(stack: Stack) -> Target:
    return _target(stack, "promotion API", ["promotion-api"], (f"{stack.promotion_url}/metrics",))


def lean(stack: Stack) -> Target:
    return _target(stack, "lean", ["lean"])


def consumers(stack: Stack, names: list[str]) -> Target:
    return _target(stack, "consumer", names, tuple(stack.consumer_metrics[n] for n in names))


def database(stack: Stack) -> Target | None:
    """The stand-in's process group; None when the database is not a process of the run."""
    return None if stack.standin is None else Target("stand-in", (stack.standin.pid,))


async def with_idle(target: Target | None, seconds: float) -> tuple[Target, IdleRates] | None:
    return None if target is None else (target, await idle_rates(target, seconds))


async def settle(stack: Stack) -> None:
    """Wait until every service of the run and the database have stopped working."""
    found = [login(stack), promotion_api(stack), lean(stack), database(stack)]
    found += [consumers(stack, [name]) for name in stack.consumer_metrics]
    await asyncio.gather(*(wait_until_quiet(target) for target in found if target is not None))
