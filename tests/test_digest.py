"""make digest (the end of make weekly): per account a short plain-text summary for cron's mail, with
the exact approve commands, what changed and what earlier changes did; also data/digest.md."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from scripts.core.workspace import PROJECT_DIR, Workspace
from scripts.proposals.decide import short_id
from scripts.proposals.recfiles import read_states
from tests.browser import outputs_world
from tests.conftest import run_step

MAX_LINES = 15


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    """A copy of the shared output world (the digest writes data/digest.md)."""
    world = outputs_world(tmp_path_factory)
    ws = Workspace(tmp_path_factory.mktemp("digest") / "ws")
    shutil.copytree(world.root, ws.root, ignore=shutil.ignore_patterns("raw", "dashboard"))
    return ws


def blocks(text: str) -> dict[str, list[str]]:
    found = {}
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if lines[0].startswith("== "):
            found[lines[0].strip("= ")] = lines
    return found


def test_each_account_gets_a_short_plain_block_with_its_approve_commands(ws):
    result = run_step("digest", ws.root)
    text = result.stdout
    assert text == (ws.data_dir / "digest.md").read_text()
    assert text.isascii()
    found = blocks(text)
    assert set(ws.account_names()) <= set(found)
    pending, _ = read_states(ws, ("pending",))
    for account in ws.account_names():
        lines = found[account]
        assert len(lines) <= MAX_LINES, lines
        assert all(len(line) <= 100 for line in lines if "make " not in line), lines  # commands never wrap
        mine = [r for r in pending if r.account == account]
        assert mine
        for rec in mine:
            # a line of its own, flush left, naming the workspace (the test's is not the repository)
            assert f"make approve ROOT={ws.root} ID={short_id(rec.data['id'])}" in lines
        assert any(line.startswith("DECIDE: ") for line in lines)
        assert any(line.startswith("CHANGED") for line in lines)
        assert " q = " not in "\n".join(lines) and " CI " not in "\n".join(lines)  # words, not statistics


def test_followups_and_changes_appear_when_there_are_some(ws):
    account = ws.account_names()[0]
    path = ws.insights_path(account)
    insights = json.loads(path.read_text())
    insights["followups"] = [{"recommendation": f"{account}--2026-11-02--format_weight", "category": "format_weight",
                              "applied_at": "2026-11-02T09:00:00Z", "platform": "tiktok",
                              "lever": {"format": "step_guide"}, "metric": "views_d7", "status": "hurt",
                              "posts_before": 20, "posts_after": 15, "posts_needed": None, "effect": 0.6,
                              "ci": [0.4, 0.9], "control": None, "claim": "0.6x (CI 0.4x-0.9x)"}]
    original = path.read_text()
    path.write_text(json.dumps(insights))
    try:
        lines = blocks(run_step("digest", ws.root).stdout)[account]
    finally:
        path.write_text(original)
    assert "EARLIER CHANGES:" in lines
    assert ("  Hurt: step-by-step guides (applied 2 Nov): about 40% fewer views after 7 days than the posts "
            "before (15 posts since)") in lines
    assert len(lines) <= MAX_LINES


def test_an_empty_workspace_names_the_next_command(tmp_path):
    result = run_step("digest", tmp_path)
    assert "make demo" in result.stdout and result.returncode == 0
    assert (tmp_path / "data" / "digest.md").read_text() == result.stdout


def test_make_weekly_ends_with_the_digest():
    dry = subprocess.run(["make", "-n", "-o", ".venv/.installed", "_weekly", "ROOT=somewhere", "FILE_RULES=1"],
                         cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    steps = [s for s in ("scripts.analyze", "scripts.recommend", "scripts.dashboard", "scripts.digest") if s in dry]
    assert steps[-1] == "scripts.digest" and dry.rindex("scripts.digest") > dry.rindex("scripts.dashboard")
    digest = subprocess.run(["make", "-n", "-o", ".venv/.installed", "digest", "ROOT=somewhere"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, check=True).stdout
    assert "GOALS=\"_digest\"" in digest
