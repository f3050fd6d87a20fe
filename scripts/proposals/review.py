"""make review ACCOUNT=x: approve or reject pending recommendations one key at a time.

The design's flow: each pending proposal with its short id, confidence, insight and change, then
[y] approve  [n] reject  [s] skip  [q] quit. In a terminal one key is the answer (no Enter); from
a pipe answers are read a line at a time (`printf 'y\\nn\\ns\\n' | ...`).
The moves are the same as approving by hand: `git mv` into approved/ or rejected/ when git tracks
the file. Run `make apply` afterwards to update performance_context.json.
"""
from __future__ import annotations

import sys
import termios
import tty

from scripts.core.db import open_db
from scripts.core.problems import Problems
from scripts.proposals.decide import short_id
from scripts.proposals.recfiles import RecError, describe_rec, move, read_states, sync_db
from scripts.core.textsafety import printable
from scripts.core.workspace import Workspace

ANSWERS = {"y": "approved", "n": "rejected", "s": None}


PROMPT = "   [y] approve  [n] reject  [s] skip  [q] quit  > "


def read_key() -> str:
    """One key pressed in the terminal, without waiting for Enter."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # not the default TCSAFLUSH: a key typed ahead counts
        return sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_answer() -> str | None:
    """The next answer's first character, lower case; None at the end of the input."""
    if sys.stdin.isatty():
        key = read_key()
        print(key)
        return None if key in ("", "\x04") else key.lower()
    line = sys.stdin.readline()
    return line.strip().lower()[:1] if line else None


def ask(prompt: str) -> str | None:
    """One answer, 'y', 'n', 's' or 'q'; None at the end of input."""
    while True:
        print(prompt, end="", flush=True)
        answer = read_answer()
        if answer is None:
            print()
            return None
        if answer in ANSWERS or answer == "q":
            return answer
        print("   please answer y, n, s or q")


def show(number: int, rec) -> None:
    data = rec.data  # a hand-edited or Claude-worded file: its text is printed, never interpreted
    print(printable(f"{number}. {short_id(data['id'])} [{data['confidence'].upper()}] {data['category']}: "
                    f"{data['insight']}"))
    evidence = data["evidence"]
    if evidence.get("n"):
        print(printable(f"   Evidence: {evidence['finding']} ({evidence['n']} posts sampled)"))
    print(printable(f"   Change: {'; '.join(describe_rec(data))}"))


def review(ws: Workspace, account: str | None) -> Problems:
    problems = Problems("review")
    pending, bad_files = read_states(ws, ("pending",))
    for line in bad_files:
        problems.add(line)
    if account is not None and account not in ws.account_names() and not any(r.account == account for r in pending):
        problems.add(f"unknown account {account!r} (known: {', '.join(ws.account_names()) or 'none yet'})")
        return problems
    pending = [r for r in pending if account is None or account in r.patches]   # cross-account files too
    if not pending:
        print(f"No pending recommendations{f' for {account}' if account else ''}: make weekly (or make recommend) "
              "writes this week's; make apply applies the approved ones.")
        return problems
    print(f"\n You have {len(pending)} pending recommendation{'s' if len(pending) != 1 else ''}:\n")
    decided, counts = [], {"approved": 0, "rejected": 0, "skipped": 0}
    for number, rec in enumerate(pending, 1):
        show(number, rec)
        answer = ask(PROMPT)
        if answer in (None, "q"):
            break
        state = ANSWERS[answer]
        if state is None:
            counts["skipped"] += 1
        else:
            before = rec.path.relative_to(ws.root)
            try:
                move(ws, rec, state)
            except RecError as exc:
                problems.add(f"{before}: {exc}")
                continue
            print(f"   {state}: moved to {rec.path.relative_to(ws.root)}")
            decided.append(rec)
            counts[state] += 1
        print()
    if decided:
        sync_db(open_db(ws.db_path), ws, decided)
    print(f"review: {counts['approved']} approved, {counts['rejected']} rejected, {counts['skipped']} skipped"
          + ("; run `make apply` to update performance_context.json" if counts["approved"] else ""))
    return problems
