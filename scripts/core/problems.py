"""How every step reports: one line per problem, naming the file; exit status for cron."""
from __future__ import annotations

import sys


class Problems:
    """Collects one-line problems so a step can finish the other accounts and still exit non-zero."""

    def __init__(self, step: str):
        self.step = step
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(f"{self.step}: error: {line}", file=sys.stderr, flush=True)

    def exit_code(self) -> int:
        return 1 if self.lines else 0
