"""The run's processes as cost targets: which process groups and which ``/metrics`` each has."""

import asyncio

from benchmarks.meter import IdleRates, Target, idle_rates, wait_until_quiet
from benchmarks.stack import Stack


def _groups(stack: Stack, name: str) -> tuple[int, ...]:
    return tuple(child.pid for child in stack.groups.children if child.name == name)


def login(stack: Stack) -> Target:
    return Target("login", _groups(stack, "login"), (f"{stack.login_url}/metrics",))


def promotion_api(stack: Stack) -> Target:
    metrics = (f"{stack.promotion_url}/metrics",)
    return Target("promotion API", _groups(stack, "promotion-api"), metrics)


def lean(stack: Stack) -> Target:
    return Target("lean", _groups(stack, "lean"))


def consumers(stack: Stack, names: list[str]) -> Target:
    groups = tuple(pid for name in names for pid in _groups(stack, name))
    return Target("consumer", groups, tuple(stack.consumer_metrics[name] for name in names))


def database(stack: Stack) -> Target | None:
    """The stand-in's process group; None when the database is not a process of the run."""
    if stack.standin is None:
        return None
    return Target("stand-in", (stack.standin.pid,))


async def with_idle(target: Target | None, seconds: float) -> tuple[Target, IdleRates] | None:
    if target is None:
        return None
    return target, await idle_rates(target, seconds)


async def settle(stack: Stack) -> None:
    """Wait until every service of the run and the database have stopped working."""
    found = [login(stack), promotion_api(stack), lean(stack), database(stack)]
    found += [consumers(stack, [name]) for name in stack.consumer_metrics]
    await asyncio.gather(*(wait_until_quiet(target) for target in found if target is not None))
