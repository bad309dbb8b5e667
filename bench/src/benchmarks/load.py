"""Fixed-duration HTTP load from wrk, in a process of its own: GET requests, each with the
next line of a data file as its bearer token.

wrk stops a connection when an answer arrives after the load's end, without sending it
another request, and stops every connection when its timer fires, each with a request in
flight; a process that got the cores late does the former for all of them. So the script
counts the requests it started, and those started but not answered are the ones left in
flight, which the server still serves."""

import asyncio
import json
import resource
import shutil
from asyncio.subprocess import PIPE
from dataclasses import dataclass
from pathlib import Path

RESULT_PREFIX = "LOAD_RESULT "
GENERATOR_SATURATED = 0.9  # of one core: the generator, not the server, set the pace
MIN_REFERENCE_RATE = 1000.0  # req/s a bare route must reach for its rate to be a reference

_WRK_SCRIPT = """
local lines, index, threads = {}, 0, {}
local path = "%(path)s"
started = 0  -- a global of each thread's state, read back through thread:get
function setup(thread) threads[#threads + 1] = thread end
function init(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  index = math.random(#lines)
end
function request()
  started = started + 1
  index = index %% #lines + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. lines[index]}, nil)
end
function done(summary, latency, requests)
  -- wrk calls request() once before the load, to check what it returns: not sent.
  local e, sent = summary.errors, -1
  for _, thread in ipairs(threads) do sent = sent + thread:get("started") end
  local lost = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    '%(prefix)s{"requests": %%d, "seconds": %%.6f, "failed": %%d, '
    .. '"p50_ms": %%.3f, "p99_ms": %%.3f, "left_in_flight": %%d}\\n',
    summary.requests, summary.duration / 1e6, e.status + lost,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    math.max(0, sent - summary.requests - lost)))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float
    generator_cpu_seconds: float = 0.0  # the load generator's own CPU over the load
    left_in_flight: int = 0  # started, not answered when wrk stopped (at most one a connection)

    @property
    def generator_busy(self) -> float:
        """Fraction of one core the (single-threaded) load generator used."""
        return self.generator_cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok_per_second(self) -> float:
        return (self.requests - self.failed) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class LoadSpec:
    base_url: str
    path: str
    tokens: list[str]
    connections: int
    seconds: float


def wrk_path() -> str:
    if (wrk := shutil.which("wrk")) is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (scripts/ensure-wrk.sh)")
    return wrk


async def run_load(spec: LoadSpec, work_dir: Path, tag: str) -> LoadResult:
    data = work_dir / f"{tag}.lines"
    data.write_text("\n".join(spec.tokens) + "\n")
    script = work_dir / f"{tag}.lua"
    script.write_text(_WRK_SCRIPT % {"path": spec.path, "prefix": RESULT_PREFIX})
    argv = [wrk_path(), "-t1", f"-c{spec.connections}", f"-d{spec.seconds:.0f}s"]
    argv += ["--timeout", "15s", "-s", str(script), spec.base_url, "--", str(data)]
    # The generator is the only child this process reaps during the load, so the change in
    # the reaped children's usage is the generator's own CPU. (Two loads run side by side
    # share the figure; the report shows it only for loads run alone.)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(*argv, stdout=PIPE, stderr=PIPE)
    out, err = await process.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in out.decode().splitlines():
        if line.startswith(RESULT_PREFIX):
            fields = json.loads(line.removeprefix(RESULT_PREFIX))
            return LoadResult(**fields, generator_cpu_seconds=cpu)
    tail = f"{out.decode()[-500:]} {err.decode()[-500:]}"
    raise RuntimeError(f"load generator gave no result: {tail}")


def generator_bound(reference: LoadResult) -> str | None:
    """Why a throughput ratio against ``reference`` would mean nothing, or None if it holds."""
    if reference.generator_busy >= GENERATOR_SATURATED:
        return f"load generator saturated ({reference.generator_busy:.0%} of a core)"
    if (rate := reference.ok_per_second) < MIN_REFERENCE_RATE:
        return f"bare rate {rate:.0f} req/s is below {MIN_REFERENCE_RATE:.0f} req/s"
    return None
