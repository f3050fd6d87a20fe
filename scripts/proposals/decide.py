"""make approve ID=… / make reject ID=…: one pending proposal into approved/ or rejected/, by its
short id (what every screen prints), its id or its file name. The move is the one review and a
hand-made `git mv` make: `git mv` when git tracks the file, a plain move otherwise."""
from __future__ import annotations

import hashlib
import shlex

from scripts.core.db import open_db
from scripts.core.problems import Problems
from scripts.core.workspace import Workspace
from scripts.proposals.recfiles import RecError, RecFile, move, read_states, sync_db

SHORT_ID_CHARS = 6
NEXT_STEP = {"approved": "run `make apply{root}` to write it into performance_context.json",
             "rejected": "it will not be proposed again"}


def short_id(rec_id: str) -> str:
    """A few characters that name a proposal for typing (a hash of its id, stable across moves)."""
    return hashlib.sha1(rec_id.encode()).hexdigest()[:SHORT_ID_CHARS]


def find_pending(ws: Workspace, wanted: str) -> RecFile:
    """The pending proposal `wanted` names: its short id, its id, or its file name."""
    pending, _ = read_states(ws, ("pending",))
    key = wanted.strip().removesuffix(".json").rsplit("/", 1)[-1]
    found = [r for r in pending if key in (r.data["id"], short_id(r.data["id"]))]
    if len(found) == 1:
        return found[0]
    if found:
        raise RecError(f"{wanted!r} names {len(found)} pending proposals; give the whole id")
    decided, _ = read_states(ws, ("approved", "applied", "rejected"))
    done = [r for r in decided if key in (r.data["id"], short_id(r.data["id"]))]
    if done:
        raise RecError(f"{wanted!r} is not pending: it is in {done[0].path.relative_to(ws.root)}")
    raise RecError(f"no pending proposal {wanted!r} (make review, make report or the dashboard list them)")


def decide(ws: Workspace, wanted: str, state: str) -> Problems:
    problems = Problems("approve" if state == "approved" else "reject")
    if not wanted.strip():
        problems.add("which proposal? give ID=<short id> (make review, make report or the dashboard list them)")
        return problems
    try:
        rec = find_pending(ws, wanted)
        before = rec.path.relative_to(ws.root)
        move(ws, rec, state)
    except RecError as exc:
        problems.add(str(exc))
        return problems
    sync_db(open_db(ws.db_path), ws, [rec])
    root = "" if str(ws.root) in (".", "") else f" ROOT={shlex.quote(str(ws.root))}"  # the command as typed
    print(f"{state} {short_id(rec.data['id'])}: {before} -> {rec.path.relative_to(ws.root)}; "
          f"{NEXT_STEP[state].format(root=root)}")
    return problems
