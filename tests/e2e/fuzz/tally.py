"""Counts of inputs tried and failures found per scenario, printed at the end of the run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    tried: int = 0
    failures: int = 0


@dataclass
class Tally:
    rows: dict[str, Row] = field(default_factory=dict)

    def tried(self, scenario: str, failed: bool = False) -> None:
        row = self.rows.setdefault(scenario, Row())
        row.tried += 1
        row.failures += int(failed)

    def table(self) -> list[str]:
        width = max(len("scenario"), *(len(name) for name in self.rows))
        lines = [f"{'scenario':<{width}}  {'inputs tried':>12}  {'failures found':>14}"]
        for name, row in sorted(self.rows.items()):
            lines.append(f"{name:<{width}}  {row.tried:>12}  {row.failures:>14}")
        return lines


TALLY = Tally()
