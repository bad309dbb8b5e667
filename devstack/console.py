"""Colour-prefixed console output shared by every process the supervisor runs."""

from __future__ import annotations

import os
import sys
from typing import TextIO

_RESET = "\033[0m"
_BOLD_RED = "\033[1;31m"
_BOLD = "\033[1m"
_PALETTE = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[96m", "\033[95m")


def colour_wanted(stream: TextIO, setting: str) -> bool:
    """Colour when the stream is a terminal, unless NO_COLOR is set; DEV_COLOR forces it."""
    if setting == "always":
        return True
    if setting == "never" or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


class Console:
    """Writes `name | line` with one colour per name and the names aligned."""

    def __init__(self, *, colour: bool, stream: TextIO = sys.stdout) -> None:
        self._colour = colour
        self._stream = stream
        self._colours: dict[str, str] = {}
        self._width = len("devstack")

    def register(self, name: str) -> None:
        """Give `name` a colour and widen the prefix column to fit it."""
        if name not in self._colours:
            self._colours[name] = _PALETTE[len(self._colours) % len(_PALETTE)]
        self._width = max(self._width, len(name))

    def line(self, name: str, text: str) -> None:
        """Print one line of a process's output."""
        colour = self._colours.get(name, "")
        self._write(f"{self._paint(colour, f'{name:<{self._width}} |')} {text}")

    def info(self, text: str) -> None:
        """Print a message of the supervisor itself."""
        self._write(f"{self._paint(_BOLD, f'{"devstack":<{self._width}} |')} {text}")

    def alarm(self, text: str) -> None:
        """Print a message that must not be missed (a process died, a server is missing)."""
        bar = "!" * 72
        for part in (bar, text, bar):
            self._write(
                f"{self._paint(_BOLD_RED, f'{"devstack":<{self._width}} |')} "
                f"{self._paint(_BOLD_RED, part)}"
            )

    def _paint(self, colour: str, text: str) -> str:
        return f"{colour}{text}{_RESET}" if self._colour and colour else text

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()
