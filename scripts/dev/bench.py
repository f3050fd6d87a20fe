"""make bench: how the pipeline scales, in one run, on a large synthetic world under bench/.

Generates (or reuses) a demo workspace of N accounts x D days of daily scrapes on both platforms,
clears everything derived from it, then runs each step as a subprocess and measures it: load
throughput beside scripts/bare_load.py (the floor), backfill, analyze, recommend (rules) and
dashboard times, a `make weekly` with nothing new, and the peak memory (max RSS) of any step.
Prints a table with PASS/FAIL per target and writes <dir>/results.json.

Exit status: 0 all steps ran and every target passed, 2 a target failed, 1 a step failed.
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from scripts.core.files import read_json, write_json_atomic
from scripts.core.timeutil import to_iso, utc_now
from scripts.core.workspace import PROJECT_DIR, REC_STATES, Workspace

PYTHON = sys.executable
STEPS_AFTER_LOAD = ("backfill", "analyze", "recommend", "dashboard")
# a `make weekly` that did work echoes one of these recipe lines
STEP_LINE = re.compile(r"-m scripts\.(load|backfill|analyze|recommend|dashboard)\b")
MB = 1024 * 1024
# the targets: load keeps half the bare loader's pace; analyze, a no-op weekly and memory stay small
LIMITS = {"load_ratio": 0.5, "analyze_seconds": 10.0, "noop_weekly_seconds": 1.0, "peak_memory_mb": 1024.0}


@dataclass
class Target:
    name: str
    value: float | None
    limit: float
    unit: str
    at_least: bool = False  # a floor (throughput ratio) rather than a ceiling

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit


@dataclass
class Run:
    name: str
    seconds: float
    max_rss_mb: float
    exit_code: int
    log: str


def run_measured(name: str, command: list[str], logs: Path, env: dict | None = None) -> Run:
    """Run one command to completion; wall time, and max RSS of it and every process it waited for."""
    log = logs / f"{name}.log"
    with open(log, "w", encoding="utf-8") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                   env=env or os.environ.copy())
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    return Run(name, round(seconds, 3), round(usage.ru_maxrss / 1024, 1), process.returncode, str(log))


def step_command(step: str, *args: str) -> list[str]:
    return [PYTHON, "-m", f"scripts.{step}", *args]


def world_params(accounts: int, days: int, seed: int) -> dict:
    return {"accounts": accounts, "days": days, "seed": seed}


def ensure_world(bench_dir: Path, params: dict, logs: Path) -> Run | None:
    """Generate the workspace unless one made with the same parameters is already there."""
    ws_root, marker = bench_dir / "ws", bench_dir / "world.json"
    if marker.exists() and ws_root.is_dir() and read_json(marker) == params:
        return None
    marker.unlink(missing_ok=True)
    run = run_measured("generate", step_command("demo", "--root", str(ws_root), "--accounts",
                                                str(params["accounts"]), "--days", str(params["days"]),
                                                "--seed", str(params["seed"]), "--force"), logs)
    if run.exit_code == 0:
        write_json_atomic(marker, params)
    return run


def clear_derived(ws: Workspace) -> None:
    """Back to a freshly scraped workspace: data/ holds only raw/, no recommendation or context
    files, so every run measures the same work."""
    if ws.data_dir.is_dir():
        for child in ws.data_dir.iterdir():
            if child != ws.raw_dir:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    for state in REC_STATES:
        for path in ws.rec_dir(state).glob("*.json"):
            path.unlink()
    for account in ws.account_names():
        ws.context_path(account).unlink(missing_ok=True)


def raw_volume(ws: Workspace) -> tuple[int, int]:
    """(files, bytes) of the raw envelopes, read once so both loaders start from a warm page cache."""
    files = ws.raw_files()
    size = 0
    for path in files:
        size += len(path.read_bytes())
    return len(files), size


def loaded_items(ws: Workspace) -> int:
    conn = sqlite3.connect(ws.db_path)
    try:
        return conn.execute("SELECT coalesce(sum(item_count), 0) FROM raw_files").fetchone()[0]
    finally:
        conn.close()


def make_command(target: str, ws: Workspace) -> list[str]:
    return ["make", "-C", str(PROJECT_DIR), target, f"ROOT={ws.root.resolve()}"]


def plain_env() -> dict:
    """The environment of a cron job: no API key (rules recommender), no make state from `make bench`."""
    return {k: v for k, v in os.environ.items()
            if k not in ("ANTHROPIC_API_KEY", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def measure(bench_dir: Path, params: dict) -> dict:
    logs = bench_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    generated = ensure_world(bench_dir, params, logs)
    if generated:
        runs.append(generated)
        if generated.exit_code != 0:
            return {"runs": [asdict(r) for r in runs]}
    ws = Workspace(bench_dir / "ws")
    clear_derived(ws)
    files, size = raw_volume(ws)
    env = plain_env()
    runs.append(run_measured("bare_load", step_command("bare_load", "--root", str(ws.root),
                                                       "--db", str(bench_dir / "bare.db")), logs, env))
    runs.append(run_measured("load", step_command("load", "--root", str(ws.root), "--quiet"), logs, env))
    items = loaded_items(ws) if ws.db_path.exists() else 0
    for step in STEPS_AFTER_LOAD:
        runs.append(run_measured(step, step_command(step, "--root", str(ws.root)), logs, env))
    # the steps ran by hand above, outside make: a first `make weekly` builds make's own record
    # (its stamps), then the second one has nothing new to do
    runs.append(run_measured("make_weekly", make_command("weekly", ws), logs, env))
    runs.append(run_measured("noop_weekly", make_command("weekly", ws), logs, env))
    noop_did_work = bool(STEP_LINE.search(Path(runs[-1].log).read_text(encoding="utf-8")))
    return {"raw": {"files": files, "bytes": size, "items": items},
            "runs": [asdict(r) for r in runs], "noop_weekly_did_work": noop_did_work}


def targets(result: dict, limits: dict) -> list[Target]:
    runs = {r["name"]: r for r in result["runs"]}
    ok = {name: r["exit_code"] == 0 for name, r in runs.items()}
    load, bare = runs["load"]["seconds"], runs["bare_load"]["seconds"]
    ratio = bare / load if ok["load"] and ok["bare_load"] and load > 0 else None
    noop = runs["noop_weekly"]["seconds"] if ok["noop_weekly"] and not result["noop_weekly_did_work"] else None
    return [
        Target("load throughput / bare loader's", ratio and round(ratio, 3), limits["load_ratio"], "x", at_least=True),
        Target("analyze, all accounts", runs["analyze"]["seconds"] if ok["analyze"] else None,
               limits["analyze_seconds"], "s"),
        Target("make weekly, nothing new", noop, limits["noop_weekly_seconds"], "s"),
        Target("peak memory (max RSS of any step)", max(r["max_rss_mb"] for r in result["runs"]),
               limits["peak_memory_mb"], "MB"),
    ]


def throughput(result: dict) -> dict:
    raw, runs = result["raw"], {r["name"]: r for r in result["runs"]}
    return {name: {"items_per_s": round(raw["items"] / runs[name]["seconds"], 1),
                   "mb_per_s": round(raw["bytes"] / MB / runs[name]["seconds"], 2)}
            for name in ("load", "bare_load")}


def print_report(result: dict, console: Console) -> None:
    raw, speed = result["raw"], result["throughput"]
    table = Table(title=f"make bench: {result['world']['accounts']} accounts x {result['world']['days']} days, "
                        f"{raw['files']} raw files, {raw['items']} items, {raw['bytes'] / MB:.0f} MB "
                        f"({result['machine']['cpus']} CPUs)")
    for column in ("step", "time (s)", "max RSS (MB)", "exit", "throughput"):
        table.add_column(column, justify="left" if column in ("step", "throughput") else "right")
    for run in result["runs"]:
        rate = speed.get(run["name"])
        table.add_row(run["name"], f"{run['seconds']:.2f}", f"{run['max_rss_mb']:.0f}", str(run["exit_code"]),
                      f"{rate['items_per_s']:,.0f} items/s, {rate['mb_per_s']:.1f} MB/s" if rate else "")
    console.print(table)
    checks = Table(title="targets")
    for column in ("target", "measured", "limit", "result"):
        checks.add_column(column)
    for target in result["targets"]:
        value = "n/a" if target["value"] is None else f"{target['value']:g} {target['unit']}"
        limit = f"{'>=' if target['at_least'] else '<='} {target['limit']:g} {target['unit']}"
        checks.add_row(target["name"], value, limit, "[green]PASS[/]" if target["passed"] else "[red]FAIL[/]")
    console.print(checks)
    for run in result["runs"]:
        if run["exit_code"] != 0:
            console.print(f"[red]bench: {run['name']} exited {run['exit_code']}; see {run['log']}[/]")
    if result["noop_weekly_did_work"]:
        console.print("[red]bench: the second make weekly ran pipeline steps; see its log[/]")


def run_bench(bench_dir: str | Path, accounts: int, days: int, seed: int) -> int | str:
    """Measure, print the table, write <dir>/results.json; the exit status (or a message)."""
    bench_dir = Path(bench_dir).resolve()  # the steps run from the project directory
    params = world_params(accounts, days, seed)
    result = measure(bench_dir, params)
    if "raw" not in result:
        return f"bench: generating the world failed; see {result['runs'][0]['log']}"
    checks = targets(result, LIMITS)
    result.update({
        "measured_at": to_iso(utc_now()), "world": params,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "throughput": throughput(result),
        "targets": [{**asdict(t), "passed": t.passed} for t in checks]})
    write_json_atomic(bench_dir / "results.json", result)
    print_report(result, Console())
    print(f"bench: results in {bench_dir / 'results.json'}")
    if any(r["exit_code"] != 0 for r in result["runs"]):
        return 1
    return 0 if all(t.passed for t in checks) else 2
