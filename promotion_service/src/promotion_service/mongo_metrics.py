"""MongoDB commands by name: how many, how long, how many failed.

A PyMongo ``CommandListener`` on each process's client: it shows what an event or a request
costs the database (a benchmark reads it; a test proves the fast path writes nothing) and
how the database answers (latency and errors by command, for alerts and the dashboard).
The ``command`` label is the command's name (find, insert, update, commitTransaction, ...):
a short, fixed set that the service's own code decides, never a value from a request.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram
from pymongo import monitoring

# From a primary-key read on a warm server to a transaction waiting behind others.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class MongoCommandCounter(monitoring.CommandListener):
    """Counts every command the client starts, and times and judges each one that ends."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.commands = Counter(
            "mongodb_commands_total",
            "MongoDB commands started by this process, by command name.",
            ["command"],
            registry=registry,
        )
        self.duration = Histogram(
            "mongodb_command_duration_seconds",
            "Time from sending a MongoDB command to its answer (success or failure), by name.",
            ["command"],
            registry=registry,
            buckets=DURATION_BUCKETS,
        )
        self.failures = Counter(
            "mongodb_command_failures_total",
            "MongoDB commands that failed (an error answer or a network error), by name.",
            ["command"],
            registry=registry,
        )

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.labels(command=event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.duration.labels(command=event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.duration.labels(command=event.command_name).observe(event.duration_micros / 1e6)
        self.failures.labels(command=event.command_name).inc()
