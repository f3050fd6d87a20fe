"""How every step reports: one line per problem, naming the file; exit status for cron; and the
open problems of the pipeline steps, kept in data/problems.json until the step that found them
runs clean, so a run keeps exiting non-zero until the problem is fixed."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from scripts.core.files import UnreadableJson, read_json, write_json_atomic
from scripts.core.timeutil import to_iso, utc_now


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


def read_open(path: Path) -> list[dict]:
    """The open problems [{step, problem, first_seen, last_seen}]; a broken file counts as one."""
    if not path.exists():
        return []
    try:
        entries = read_json(path)["open"]
        if isinstance(entries, list) and all(isinstance(e, dict) and {"step", "problem"} <= e.keys()
                                             for e in entries):
            return entries
    except (UnreadableJson, KeyError, TypeError) as exc:
        problem = f"{path}: unreadable ({exc}); it is rewritten by the next step that runs"
        return [{"step": "problems", "problem": problem, "first_seen": None, "last_seen": None}]
    return [{"step": "problems", "problem": f"{path}: not a problem list", "first_seen": None,
             "last_seen": None}]


def record(path: Path, step: str, lines: list[str]) -> None:
    """Replace `step`'s open problems by `lines`, keeping when each was first seen. With none open
    at all the file is removed, so a clean run costs Make one missing file, not a program."""
    now = to_iso(utc_now())
    current = read_open(path)
    entries = [e for e in current if e["step"] not in (step, "problems")]
    seen = {e["problem"]: e.get("first_seen") for e in current if e["step"] == step}
    entries += [{"step": step, "problem": line, "first_seen": seen.get(line) or now, "last_seen": now}
                for line in dict.fromkeys(lines)]
    if entries:
        write_json_atomic(path, {"open": entries})
    else:
        path.unlink(missing_ok=True)


def describe_open(entries: list[dict]) -> str:
    """The summary every pipeline target prints at its end."""
    steps = " ".join(sorted({e["step"] for e in entries}))
    lines = [f"pipeline: finished with problems in: {steps} ({len(entries)} open, oldest first; each stays "
             "open until the step that found it runs clean)"]
    for entry in sorted(entries, key=lambda e: (e.get("first_seen") or "", e["step"])):
        since = f", since {entry['first_seen']}" if entry.get("first_seen") else ""
        lines.append(f"  [{entry['step']}{since}] {entry['problem']}")
    return "\n".join(lines)


def stopped_line(step: str, exit_code: int) -> str:
    """For a step that died before it could say why (killed, or an error it did not catch)."""
    how = "was killed" if exit_code > 128 else f"exited {exit_code}"
    return f"{step} {how} before it finished; its work is redone on the next run (see the output above)"


def report_open(path: Path, stopped: tuple[str, int] | None = None) -> NoReturn:
    """`python -m scripts.problems`: print the open problems, exit 1 while any is open. With
    `stopped` (a step and its exit status), only record that the step died, unless it recorded
    its own problems on the way out."""
    if stopped:
        step, code = stopped
        own = [e["problem"] for e in read_open(path) if e["step"] == step]
        if code > 128 or not own:
            record(path, step, [stopped_line(step, code)] + own)
        sys.exit(0)
    entries = read_open(path)
    if entries:
        print(describe_open(entries), file=sys.stderr)
    sys.exit(1 if entries else 0)
