"""Shared test helpers: build the synthetic demo workspace and run pipeline steps end to end."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.core.db import open_db
from scripts.core.timeutil import parse_utc, to_stamp
from scripts.dev.demo import build_workspace
from scripts.core.workspace import PROJECT_DIR, Workspace

DEMO_END = "2026-11-23"


def run_step(step: str, root: Path, *args: str, env: dict | None = None, check: bool = True,
             input: str | None = None, cpus: set[int] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m scripts.<step> --root <root> ...` as make would, in a subprocess (allowed
    only the given CPUs, if any)."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run([sys.executable, "-m", f"scripts.{step}", "--root", str(root), *args],
                            cwd=PROJECT_DIR, capture_output=True, text=True, env=full_env, input=input,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    if check and result.returncode != 0:
        raise AssertionError(f"scripts.{step} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def build_demo(root: Path, *, null: bool = False, seed: int = 7, days: int = 120, accounts: int = 4,
               steps: tuple[str, ...] = ("load",)) -> Workspace:
    """Generate a synthetic workspace at root and run the given pipeline steps on it."""
    from datetime import date
    build_workspace(Path(root), seed=seed, days=days, end=date.fromisoformat(DEMO_END), null=null,
                    accounts=accounts)
    for step in steps:
        run_step(step, root)
    return Workspace(root)


@pytest.fixture(scope="session")
def loaded_demo(tmp_path_factory) -> Workspace:
    """The planted demo world, loaded. Read-only: copy it (demo_copy) before changing anything."""
    return build_demo(tmp_path_factory.mktemp("demo") / "ws")


def copy_workspace(source: Workspace, tmp_path: Path) -> Workspace:
    """A private copy of a read-only, module- or session-scoped workspace, for one test to change.
    The database goes through SQLite's backup API: a connection still open on the source may
    checkpoint and remove its -wal file in the middle of a file copy."""
    target = Workspace(tmp_path / "ws")
    shutil.copytree(source.root, target.root, ignore=shutil.ignore_patterns(f"{source.db_path.name}*"))
    if source.db_path.exists():
        with contextlib.closing(sqlite3.connect(source.db_path)) as original, \
                contextlib.closing(sqlite3.connect(target.db_path)) as copy:
            original.backup(copy)
    return target


@pytest.fixture
def demo_copy(loaded_demo, tmp_path) -> Workspace:
    return copy_workspace(loaded_demo, tmp_path)


# --- the fast, in-process layer: a fresh database and envelopes built from recorded items ---------
FIXTURES_DIR = Path(__file__).parent / "fixtures"
RECORDED_SOURCE = {"tiktok": "clockworks/tiktok-profile-scraper", "instagram": "apify/instagram-post-scraper"}


def recorded_items(platform: str) -> list[dict]:
    """The recorded actor items of tests/fixtures/<platform>_items.json, a fresh copy on every call."""
    return json.loads((FIXTURES_DIR / f"{platform}_items.json").read_text(encoding="utf-8"))


def raw_envelope(platform: str, items: list[dict], *, account: str = "mymomskills",
                 scraped_at: str = "2026-06-25T08:00:00Z", profile: dict | None = None,
                 source: dict | None = None) -> dict:
    """A raw envelope dict as the SPEC defines it (data/raw/<platform>/<account>/<stamp>.json)."""
    return {"account": account, "platform": platform, "scraped_at": scraped_at,
            "source": source if source is not None else {
                "actor": RECORDED_SOURCE[platform], "run_id": f"run-{platform}", "dataset_id": f"ds-{platform}",
                "status": "SUCCEEDED"},
            "profile": profile, "items": items}


def write_raw(ws: Workspace, envelope: dict, stamp: str | None = None) -> Path:
    """Write an envelope where scrape would: data/raw/<platform>/<account>/<stamp>.json, the stamp
    taken from its scraped_at unless given."""
    stamp = stamp or to_stamp(parse_utc(envelope["scraped_at"]))
    path = ws.raw_path(envelope["platform"], envelope["account"], stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(envelope), encoding="utf-8")
    return path


@pytest.fixture
def fresh_db(tmp_path):
    """A new analytics database with the real schema from sql/, at the db_path of the workspace
    Workspace(tmp_path), so envelopes written there with write_raw can be prepared and stored into
    it; closed after the test."""
    db = open_db(Workspace(tmp_path).db_path)
    yield db
    db.conn.close()
