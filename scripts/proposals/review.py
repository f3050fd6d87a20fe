"""make review ACCOUNT=x: approve or reject pending recommendations one key at a time.

The design's flow: each pending proposal with its confidence, insight and change, then
[y] approve  [n] reject  [s] skip  ([q] quits). Answers are read from stdin one line at a time,
so it works in a plain terminal, under tmux and from a pipe (`printf 'y\\nn\\ns\\n' | ...`).
The moves are the same as approving by hand: `git mv` into approved/ or rejected/ when git tracks
the file. Run `make apply` afterwards to update performance_context.json.
"""
from __future__ import annotations

import sys


from scripts.core.db import open_db
from scripts.core.problems import Problems
from scripts.proposals.recfiles import RecError, describe_patch, move, read_states, sync_db
from scripts.core.textsafety import printable
from scripts.core.workspace import Workspace

ANSWERS = {"y": "approved", "n": "rejected", "s": None}


def ask(prompt: str) -> str | None:
    """One answer, 'y', 'n', 's' or 'q'; None at the end of input."""
    while True:
        print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print()
            return None
        answer = line.strip().lower()[:1]
        if answer in ANSWERS or answer == "q":
            return answer
        print("   please answer y, n, s or q")


def show(number: int, rec) -> None:
    data = rec.data  # a hand-edited or Claude-worded file: its text is printed, never interpreted
    print(printable(f"{number}. [{data['confidence'].upper()}] {data['category']}: {data['insight']}"))
    evidence = data["evidence"]
    if evidence.get("n"):
        print(printable(f"   Evidence: {evidence['finding']} ({evidence['n']} posts sampled)"))
    print(printable(f"   Proposed: {'; '.join(describe_patch(data['patch']))}"))


def review(ws: Workspace, account: str | None) -> Problems:
    problems = Problems("review")
    pending, bad_files = read_states(ws, ("pending",))
    for line in bad_files:
        problems.add(line)
    pending = [r for r in pending if account is None or r.account == account]
    if not pending:
        print(f"No pending recommendations{f' for {account}' if account else ''}.")
        return problems
    print(f"\n You have {len(pending)} pending recommendation{'s' if len(pending) != 1 else ''}:\n")
    decided, counts = [], {"approved": 0, "rejected": 0, "skipped": 0}
    for number, rec in enumerate(pending, 1):
        show(number, rec)
        answer = ask("   [y] approve  [n] reject  [s] skip  > ")
        if answer in (None, "q"):
            break
        state = ANSWERS[answer]
        if state is None:
            counts["skipped"] += 1
        else:
            try:
                move(ws, rec, state)
            except RecError as exc:
                problems.add(f"{rec.path.relative_to(ws.root)}: {exc}")
                continue
            decided.append(rec)
            counts[state] += 1
        print()
    if decided:
        sync_db(open_db(ws.db_path), ws, decided)
    print(f"review: {counts['approved']} approved, {counts['rejected']} rejected, {counts['skipped']} skipped"
          + ("; run `make apply` to update performance_context.json" if counts["approved"] else ""))
    return problems
