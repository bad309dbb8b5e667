"""MongoDB commands by name, as the Prometheus counter ``mongodb_commands_total{command}``.

A PyMongo ``CommandListener`` on each process's client: it shows what an event or a request
costs the database (a benchmark reads it; a test proves the fast path writes nothing).
"""

from prometheus_client import CollectorRegistry, Counter
from pymongo import monitoring


class MongoCommandCounter(monitoring.CommandListener):
    """Counts every command the client starts, labelled by its name (find, insert, ...)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.commands = Counter(
            "mongodb_commands_total",
            "MongoDB commands started by this process, by command name.",
            ["command"],
            registry=registry,
        )

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.labels(command=event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Counted when started."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Counted when started."""
