"""Counters read from a Prometheus text exposition (the services' ``/metrics``)."""

import re

import httpx

COMMANDS_COUNTER = "mongodb_commands_total"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+\-]+|NaN|[+-]Inf)")


def counter_total(text: str, name: str) -> float | None:
    """Sum of every sample of counter ``name`` over its labels; None when it is not exported.

    Accepts the name with or without the ``_total`` suffix, as prometheus-client exposes
    counters both ways depending on version and mode.
    """
    wanted = {name, name.removesuffix("_total") + "_total"}
    found = False
    total = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) in wanted:
            found = True
            total += float(match.group(3))
    return total if found else None


async def scrape(client: httpx.AsyncClient, url: str, names: tuple[str, ...]) -> dict[str, float]:
    """The named counters exported at ``url`` (missing ones, or an unreachable url, left out)."""
    try:
        response = await client.get(url)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    values = {name: counter_total(response.text, name) for name in names}
    return {name: value for name, value in values.items() if value is not None}
