"""Where an exception was raised, for logs: exception messages may quote submitted or stored
data (passwords, identifiers, documents in a duplicate-key error), so logs carry the type and
this place only."""

import traceback


def raised_at(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of ``exc``'s traceback (``unknown`` if none)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
