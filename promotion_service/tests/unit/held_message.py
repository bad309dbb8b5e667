"""The message in hand, as the consumer's settling sees it, in memory: every settlement lands
in `calls` (shared by the delivery and handler tests)."""


class HeldMessage:
    """What the handler holds of a delivery; settling it lands in `calls`."""

    def __init__(
        self,
        calls: list[str],
        *,
        body: bytes = b"{}",
        message_id: str = "evt-1",
        correlation_id: str = "corr-1",
        user_id: str | None = None,
    ) -> None:
        self.calls = calls
        self.body = body
        self.message_id = message_id
        self.correlation_id = correlation_id
        self.user_id = user_id
        self.channel = type("Channel", (), {"is_closed": False})()

    async def ack(self) -> None:
        self.calls.append("ack")

    async def nack(self, requeue: bool = True) -> None:
        self.calls.append(f"nack requeue={requeue}")

    async def reject(self, requeue: bool = False) -> None:
        self.calls.append(f"reject requeue={requeue}")
