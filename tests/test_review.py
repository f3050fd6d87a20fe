"""make review: [y] approve [n] reject [s] skip, read line by line from stdin (pipe, tmux, terminal)."""
from __future__ import annotations

import os
import pty
import select
import sys
import time

from scripts.core.db import open_db
from scripts.core.workspace import PROJECT_DIR, Workspace
from scripts.proposals.decide import short_id
from tests.conftest import run_step
from tests.test_apply import proposed, ws  # noqa: F401  (fixtures: two accounts with proposals pending)
from tests.test_recommend import git




def names(ws: Workspace, state: str, account: str) -> list[str]:
    return sorted(p.name for p in ws.rec_dir(state).glob(f"{account}--*.json"))


def test_piped_answers_approve_reject_and_skip_in_order(ws):
    account, other = ws.account_names()
    queue = names(ws, "pending", account)
    other_before = names(ws, "pending", other)
    result = run_step("review", ws.root, "--account", account, input="y\nn\ns\n")
    assert f"You have {len(queue)} pending recommendations" in result.stdout
    assert "[y] approve  [n] reject  [s] skip" in result.stdout
    assert "Change: " in result.stdout and "[HIGH]" in result.stdout and "[q] quit" in result.stdout
    assert f"approved: moved to recommendations/approved/{queue[0]}" in result.stdout
    assert names(ws, "approved", account) == [queue[0]]
    assert names(ws, "rejected", account) == [queue[1]]
    assert names(ws, "pending", account) == queue[2:]            # skipped, then input ended
    assert names(ws, "pending", other) == other_before           # --account limits the queue
    assert "1 approved, 1 rejected, 1 skipped" in result.stdout
    rows = {r["id"] + ".json": r["status"] for r in open_db(ws.db_path).query("SELECT id, status FROM recommendations")}
    assert rows[queue[0]] == "approved" and rows[queue[1]] == "rejected" and rows[queue[2]] == "pending"


def test_unknown_keys_are_asked_again_and_q_quits(ws):
    account = ws.account_names()[0]
    queue = names(ws, "pending", account)
    result = run_step("review", ws.root, "--account", account, input="maybe\nn\nq\ny\n")
    assert "please answer y, n, s or q" in result.stdout
    assert names(ws, "rejected", account) == [queue[0]]
    assert names(ws, "approved", account) == []                  # 'q' stopped before the 'y'


def test_review_uses_git_mv_in_a_work_tree(ws):
    git(ws.root, "init", "-q")
    git(ws.root, "add", "recommendations")
    git(ws.root, "commit", "-qm", "proposals")
    account = ws.account_names()[0]
    first = names(ws, "pending", account)[0]
    run_step("review", ws.root, "--account", account, input="y\n")
    status = git(ws.root, "status", "--porcelain")
    assert f"R  recommendations/pending/{first} -> recommendations/approved/{first}" in status


def test_an_unknown_account_is_an_error_and_an_empty_queue_says_so(ws):
    unknown = run_step("review", ws.root, "--account", "nobody", input="", check=False)
    assert unknown.returncode == 1 and "unknown account 'nobody'" in unknown.stderr
    account = ws.account_names()[0]
    for path in ws.rec_dir("pending").glob(f"{account}--*.json"):
        path.unlink()
    empty = run_step("review", ws.root, "--account", account, input="")
    assert f"No pending recommendations for {account}: make weekly" in empty.stdout
    bad = run_step("review", ws.root, "--account", "../etc", input="", check=False)
    assert bad.returncode != 0 and "invalid account name" in bad.stderr


def test_in_a_terminal_one_key_answers_and_the_move_is_shown(ws):
    """Under a pseudo-terminal, as a person types: 'y' alone (no Enter) approves, 'q' quits."""
    account = ws.account_names()[0]
    queue = names(ws, "pending", account)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the review step, its stdin and stdout the terminal
        os.chdir(PROJECT_DIR)
        os.execv(sys.executable, [sys.executable, "-m", "scripts.review", "--root", str(ws.root),
                                  "--account", account])
    screen = read_until(fd, b"[q] quit")
    os.write(fd, b"y")
    screen += read_until(fd, b"[q] quit")
    os.write(fd, b"q")
    screen += read_until(fd, b"review:")
    os.waitpid(pid, 0)
    text = screen.decode(errors="replace")
    assert names(ws, "approved", account) == [queue[0]]
    assert f"approved: moved to recommendations/approved/{queue[0]}" in text
    assert short_id(queue[0].removesuffix(".json")) in text
    assert text.count("Change:") == 2 and text.count("Proposed:") <= 2  # once a proposal, not twice


def read_until(fd: int, marker: bytes, seconds: float = 30) -> bytes:
    seen, deadline = b"", time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen
