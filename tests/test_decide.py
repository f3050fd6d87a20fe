"""make approve ID=… / make reject ID=…: one pending proposal moved by its short id, as screens print it."""
from __future__ import annotations

import json
import subprocess

from scripts.core.db import open_db
from scripts.core.workspace import PROJECT_DIR
from scripts.proposals.decide import short_id
from tests.test_apply import proposed, ws  # noqa: F401  (fixtures: two accounts with proposals pending)
from tests.test_recommend import git


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(PROJECT_DIR), *args], capture_output=True, text=True)


def pending(ws) -> list[str]:
    return sorted(p.stem for p in ws.rec_dir("pending").glob("*.json"))


def test_make_approve_by_short_id_moves_the_file_and_says_what_next(ws):
    first, second = pending(ws)[:2]
    result = make("approve", f"ROOT={ws.root}", f"ID={short_id(first)}")
    assert result.returncode == 0, result.stderr
    assert (ws.rec_dir("approved") / f"{first}.json").is_file() and first not in pending(ws)
    assert f"run `make apply ROOT={ws.root}`" in result.stdout  # the command as the user types it
    rejected = make("reject", f"ROOT={ws.root}", f"ID={second}.json")  # a file name works too
    assert rejected.returncode == 0, rejected.stderr
    assert (ws.rec_dir("rejected") / f"{second}.json").is_file()
    rows = dict(open_db(ws.db_path).execute("SELECT id, status FROM recommendations").fetchall())
    assert rows[first] == "approved" and rows[second] == "rejected"


def test_make_approve_uses_git_mv_in_a_work_tree(ws):
    git(ws.root, "init", "-q")
    git(ws.root, "add", "recommendations")
    git(ws.root, "commit", "-qm", "this week's proposals")
    first = pending(ws)[0]
    assert make("approve", f"ROOT={ws.root}", f"ID={short_id(first)}").returncode == 0
    status = git(ws.root, "status", "--porcelain")
    assert f"R  recommendations/pending/{first}.json -> recommendations/approved/{first}.json" in status


def test_an_unknown_or_decided_id_is_one_line_and_moves_nothing(ws):
    before = pending(ws)
    for wanted, says in (("zzzzzz", "no pending proposal 'zzzzzz'"), ("", "which proposal?")):
        result = make("approve", f"ROOT={ws.root}", f"ID={wanted}")
        assert result.returncode != 0 and says in result.stderr and pending(ws) == before
    make("approve", f"ROOT={ws.root}", f"ID={short_id(before[0])}")
    again = make("reject", f"ROOT={ws.root}", f"ID={short_id(before[0])}")
    assert again.returncode != 0 and "is not pending: it is in recommendations/approved/" in again.stderr
    assert json.loads((ws.rec_dir("approved") / f"{before[0]}.json").read_text())["id"] == before[0]
