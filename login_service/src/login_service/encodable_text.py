"""Text a request may carry: only what UTF-8 can encode.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``), and Python keeps it in a ``str``;
BSON and Argon2 then fail on it deep inside a lookup or a hash. Pydantic refuses one in
some fields and not others (an unconstrained ``str`` built from Python passes it through),
so every text field of a request says so itself, and the refusal is a field problem.
"""

from typing import Annotated

from pydantic import AfterValidator


def _encodable_as_utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "must be Unicode text that UTF-8 can encode (no lone surrogates)"
        ) from None
    return value


Utf8Text = Annotated[str, AfterValidator(_encodable_as_utf8)]
