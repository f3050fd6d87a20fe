"""Fault injection through `make` (issue 13): kill a step at a random point, rerun, and compare with
a run that was never interrupted.

For each of load, backfill, analyze, recommend and apply, and three seeds each: start the step's
make target on a copy of a tiny world (2 accounts x 30 days) in which every earlier step is done,
wait until the step's own process (`python -m scripts.<step>`) is running and has first written to
the workspace, sleep a random part of the time it then needs to finish (random.Random(seed)), and
SIGKILL either that process alone (make goes on and records a problem) or make's whole process
group (as a reboot or an OOM kill of the cron job would); the cases alternate between the two.
Then:

- the first rerun of the same target must leave the step's work complete, exactly as an
  uninterrupted run of that target leaves it (the database table by table, row count and
  checksum; insights, proposals, contexts: tests/faults_harness.py, snapshot), and exit 0 with no
  temporary file left behind: a killed step is never recorded as done (SPEC, "Failure behaviour");
- a `make weekly` after it must end exactly as the uninterrupted `make weekly` (after `make apply`
  of the same approved files, for apply), dashboards included.

The kill comes after the step's first write (to the database or a file it writes), so it lands
where work can be left half done rather than while Python imports. Seed, signal target and delay
are in every failure message.

To stay within a minute on two cores, the i-th seeds of the five steps form a chain: a case whose
rerun came out equal to the uninterrupted run hands its workspace to the next step's case, instead
of running the whole rest of the week itself, so the `make weekly` after a killed load is that
chain's backfill, analyze and recommend (each killed and rerun in turn, each checked) and then a
real `make weekly` at its recommend and apply cases. A case whose predecessor failed, or was not
selected, starts from a fresh copy of the uninterrupted run; a case run alone (-k load-seed11)
ends with its own `make weekly`. Chains run two at a time (WORKERS), each in its own copies."""
from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from scripts.dev.demo import build_workspace
from tests.faults_harness import (DB_NAME, Watched, approve_all, check_ignored_columns, clone, differences,
                                  explain, run_make, snapshot, temp_files, watch_make)

DB_FILES = (f"data/{DB_NAME}", f"data/{DB_NAME}-wal", f"data/{DB_NAME}-journal")
# what each step writes first: when one of these changes, the step has started its work
MARKERS = {
    "load": DB_FILES,
    "backfill": DB_FILES,
    "analyze": ("data/insights",),
    "recommend": ("recommendations/pending",) + DB_FILES,
    "apply": ("accounts/*", "recommendations/approved", "recommendations/applied"),
}
STEPS = tuple(MARKERS)
KILLS_PER_STEP = 3
WORKERS = max(1, min(2, os.cpu_count() or 1))
DASHBOARDS = ("file:data/dashboard/",)  # a single step's target does not build them
# make weekly also writes the analyzer's beliefs into the contexts (make beliefs); make recommend alone does not
BELIEFS = ("file:accounts/",)


@dataclass(frozen=True)
class Case:
    step: str
    seed: int   # random.Random(seed) draws the delay
    mode: str   # "step": SIGKILL scripts.<step> only; "group": SIGKILL make's whole process group

    @property
    def id(self) -> str:
        return f"{self.step}-seed{self.seed}-kill-{self.mode}"


CASES = [Case(step, 10 * (i + 1) + k, ("step", "group")[(i * KILLS_PER_STEP + k) % 2])
         for i, step in enumerate(STEPS) for k in range(1, KILLS_PER_STEP + 1)]


@dataclass
class World:
    """Read-only workspaces and their snapshots, built once for the module."""
    reference_root: Path             # one uninterrupted `make weekly` on the fresh world
    applied_root: Path               # ... then every proposal approved, `make apply`, `make weekly`
    start: dict[str, Path]           # per step: the workspace its cases start from
    done: dict[str, Path]            # per step: that workspace once the step's target has run
    stepwise_root: Path              # make load, backfill, analyze, weekly one after the other
    timing: dict[str, Watched]       # per step: its uninterrupted run, watched

    def __post_init__(self):
        self.snapshots = {root: snapshot(root) for root in
                          [self.reference_root, self.applied_root, self.stepwise_root, *self.done.values()]}


def _made(run, what: str) -> None:
    assert run.returncode == 0, f"the uninterrupted {what} failed: {run.describe()}"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("faults")
    fresh = base / "fresh"
    build_workspace(fresh, seed=7, days=30, end=date(2026, 11, 23), null=False, accounts=2)

    with ThreadPoolExecutor(1) as pool:  # the one-go reference beside the target-by-target one
        reference_root = clone(fresh, base / "reference")
        reference = pool.submit(run_make, "weekly", reference_root)

        # a target at a time, keeping the workspace between targets: each step's cases start
        # from the one before it, and must end like the one after it
        start, done, timing = {}, {}, {}
        previous = fresh
        for step, target in (("load", "load"), ("backfill", "backfill"), ("analyze", "analyze"),
                             ("recommend", "weekly")):
            start[step] = previous
            done[step] = clone(previous, base / f"after-{step}")
            timing[step] = watch_make(target, done[step], step, MARKERS[step], log=base / f"{step}.log")
            _made(timing[step].make, f"make {target}")
            previous = done[step]

        start["apply"] = clone(previous, base / "approved")
        assert approve_all(start["apply"]), "the reference week made no proposal to approve"
        done["apply"] = clone(start["apply"], base / "after-apply")
        timing["apply"] = watch_make("apply", done["apply"], "apply", MARKERS["apply"], log=base / "apply.log")
        _made(timing["apply"].make, "make apply")
        assert not list((done["apply"] / "recommendations" / "approved").iterdir()), timing["apply"].make.describe()
        applied_root = clone(done["apply"], base / "applied-weekly")
        _made(run_make("weekly", applied_root), "make weekly after make apply")
        _made(reference.result(), "make weekly")

    for step, watched in timing.items():
        assert watched.window is not None, f"scripts.{step} was never seen writing: {watched.make.describe()}"
    return World(reference_root, applied_root, start, done, done["recommend"], timing)


# --- the harness's own checks: it can fail, and what it compares is deterministic -------------------

def test_the_comparator_catches_a_lost_row_or_a_changed_artifact_and_ignores_only_the_clock(world, tmp_path):
    assert check_ignored_columns() == []
    expected = world.snapshots[world.reference_root]
    root = clone(world.reference_root, tmp_path / "ws")
    assert differences(expected, snapshot(root)) == []  # a copy is equal

    insights = root / "data" / "insights" / "all.json"
    data = json.loads(insights.read_text())
    data["generated_at"] = "2001-01-01T00:00:00Z"  # the wall clock: ignored
    insights.write_text(json.dumps(data))
    with contextlib.closing(sqlite3.connect(root / "data" / DB_NAME)) as conn, conn:
        conn.execute("UPDATE raw_files SET loaded_at = '2001-01-01T00:00:00Z'")  # so is this
    assert differences(expected, snapshot(root)) == []

    with contextlib.closing(sqlite3.connect(root / "data" / DB_NAME)) as conn, conn:
        conn.execute("DELETE FROM metrics_snapshots WHERE id = (SELECT max(id) FROM metrics_snapshots)")
        conn.execute("UPDATE posts SET caption = caption || ' (edited)' WHERE id = 1")
    data["findings"] = data["findings"] + [{"id": "planted"}]
    insights.write_text(json.dumps(data))
    pending = min((root / "recommendations" / "pending").glob("*.json"))
    pending.unlink()
    (root / "data" / "dashboard" / "all.html").unlink()
    lines = differences(expected, snapshot(root))
    assert [line.strip().split(": ")[0] for line in lines] == [
        "db:metrics_snapshots", "db:posts", "file:data/dashboard/all.html", "file:data/insights/all.json",
        f"file:{pending.relative_to(root)}"], lines
    detail = "\n".join(explain(world.reference_root, root, lines))
    assert "1 rows missing (only in the uninterrupted run)" in detail and "1 rows differ" in detail, detail
    assert "id=1: caption=" in detail, detail  # the changed column, and only it


def test_make_weekly_in_one_go_ends_as_the_targets_one_by_one(world):
    """The cases compare runs made of several make invocations with these references: without
    this, a difference could come from the pipeline not being deterministic, not from the kill."""
    assert differences(world.snapshots[world.reference_root], world.snapshots[world.stepwise_root]) == []


# --- the kills ---------------------------------------------------------------------------------------

def loaded_line(root: Path) -> str:
    raw = [p for p in (root / "data" / "raw").rglob("*.json") if "_rejected" not in p.parts]
    try:
        with contextlib.closing(sqlite3.connect(f"file:{root / 'data' / DB_NAME}?mode=ro", uri=True)) as conn:
            loaded = conn.execute("SELECT count(*) FROM raw_files").fetchone()[0]
    except sqlite3.Error:
        loaded = 0
    return f" ({len(raw) - loaded} of {len(raw)} raw files unloaded)"


def next_case(case: Case) -> Case | None:
    """The case of the next step with the same place in its step's seeds: it continues from the
    workspace this one leaves."""
    i = STEPS.index(case.step)
    return CASES[CASES.index(case) + KILLS_PER_STEP] if i + 1 < len(STEPS) else None


def run_case(world: World, case: Case, tmp: Path, inherited: Path | None, hand_on: bool) -> tuple[str | None, Path | None]:
    """Kill, rerun, `make weekly`: None if everything held, else why not (the first thing that
    failed); and, when hand_on (the next step's case of this chain is selected) and everything
    held, the workspace that case continues from.

    The case starts from `inherited`, the workspace the previous step's case of the chain left
    once it had checked it equal to the uninterrupted run, else from a copy of that uninterrupted
    run. A load, backfill or analyze case that hands on skips its `make weekly`: the rest of the
    week runs on its result as the chain's next cases (each killed, rerun and checked), and the
    chain's recommend case always ends with a real `make weekly` compared with the reference
    (then approves the week's proposals for the apply case, as the reference did)."""
    step, seed = case.step, case.seed
    fraction = random.Random(seed).uniform(0.0, 0.9)
    window = world.timing[step].window
    start = inherited or world.start[step]
    previous = CASES[CASES.index(case) - KILLS_PER_STEP] if STEPS.index(step) else None
    origin = f"the workspace [{previous.id}] left" if inherited else "a fresh copy of the uninterrupted run"

    # a kill after the step ended proves nothing: retry earlier on a fresh copy (the machine may
    # be faster now than when the window was measured)
    for attempt in range(4):
        delay = fraction * window / 2 ** attempt
        root = clone(start, tmp / f"ws{attempt}")
        killed = watch_make(step, root, step, MARKERS[step], kill=case.mode, delay=delay, log=tmp / f"killed{attempt}.log")
        # a step that finished in the instant between the liveness check and the signal exits 0:
        # that kill missed too
        if killed.killed and killed.make.returncode != 0:
            break
        shutil.rmtree(root)
    else:
        return (f"[{case.id}] seed={seed}: could not kill scripts.{step} while it ran ({'; '.join(killed.notes)}); "
                f"{killed.make.describe()}"), None
    if inherited:
        shutil.rmtree(inherited)
    what = (f"[{case.id}] seed={seed}: SIGKILL of "
            f"{'scripts.' + step + ' alone' if case.mode == 'step' else 'the whole make process group'} "
            f"{delay * 1000:.0f} ms after scripts.{step} first wrote (its work takes ~{window * 1000:.0f} ms), "
            f"on {origin}; workspace {root}")

    rerun = run_make(step, root)
    lost = differences(world.snapshots[world.done[step]], snapshot(root),
                       skip=DASHBOARDS + (BELIEFS if step == "recommend" else ()))
    if lost:
        return (f"{what}; the first rerun `make {step}` exited {rerun.returncode} with the step's work "
                f"not done{loaded_line(root) if step == 'load' else ''}:\n"
                + "\n".join(explain(world.done[step], root, lost)) + f"\n{rerun.describe()}"), None
    if rerun.returncode != 0:
        return f"{what}; the rerun failed: {rerun.describe()}", None
    if temp_files(root):
        return f"{what}; the rerun `make {step}` left temporary files behind: {temp_files(root)}", None
    if hand_on and step not in ("recommend", "apply"):
        return None, root

    weekly = run_make("weekly", root)
    reference = world.applied_root if step == "apply" else world.reference_root
    wrong = differences(world.snapshots[reference], snapshot(root))
    if wrong:
        return (f"{what}; after the rerun and `make weekly` (exit {weekly.returncode}) the result differs "
                f"from the uninterrupted run:\n" + "\n".join(explain(reference, root, wrong))
                + f"\n{weekly.describe()}"), None
    if weekly.returncode != 0:
        return f"{what}; the `make weekly` after the rerun failed: {weekly.describe()}", None
    if temp_files(root):
        return f"{what}; temporary files left behind after `make weekly`: {temp_files(root)}", None
    if hand_on:  # the week's proposals approved, as the apply cases start
        approve_all(root)
        return None, root
    shutil.rmtree(root)  # kept only when the case fails, to look at
    return None, None


@pytest.fixture(scope="module")
def outcomes(world, request, tmp_path_factory):
    """The selected cases, WORKERS at a time. Each chain (the i-th seed of every step) runs in
    step order, a case starting when the one before it has ended; each test waits for its own
    case (so --durations shows roughly what each one costs)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if item.module is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})]
    results = {case: Future() for case in selected}
    pool = ThreadPoolExecutor(WORKERS)

    def run(case: Case, inherited: Path | None) -> None:
        successor = next_case(case)
        following = successor in results
        try:
            failure, root = run_case(world, case, tmp_path_factory.mktemp(case.id), inherited, following)
        except Exception:  # noqa: BLE001 - the harness's own failure, reported as the case's
            failure, root = f"[{case.id}] seed={case.seed}: the harness failed:\n{traceback.format_exc()}", None
        results[case].set_result(failure)
        if following:
            try:
                pool.submit(run, successor, root)
            except RuntimeError:  # the module is being torn down (pytest -x)
                results[successor].set_result(f"[{successor.id}] not run: the tests stopped")

    for case in selected:
        if not any(next_case(other) == case for other in selected):
            pool.submit(run, case, None)
    try:
        yield results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_a_killed_step_reruns_and_the_result_equals_an_uninterrupted_run(outcomes, case):
    failure = outcomes[case].result()
    if failure:
        pytest.fail(failure, pytrace=False)
