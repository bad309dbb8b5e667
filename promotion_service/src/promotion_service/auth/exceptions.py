"""Why a request is not authenticated. Messages are generic: they never echo the token."""


class NotAuthenticated(Exception):
    """No bearer token was sent."""


class InvalidToken(Exception):
    """The token was refused; `reason` is for logs and the problem detail (no token content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(Exception):
    """The login service's JWKS could not be fetched, so no token can be checked now."""
