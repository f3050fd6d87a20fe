"""make bench runs end to end on tiny worlds and writes its results. No timing is asserted here:
on a shared 2-core machine a timing test would measure the neighbours, not the code."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts.dev.bench import LIMITS, ensure_world, growth, targets, world_params
from scripts.core.files import write_json_atomic
from scripts.core.workspace import PROJECT_DIR

STEPS = ["bare_load", "load", "backfill", "analyze", "recommend", "dashboard"]


def test_bench_measures_every_step_at_every_scale_and_writes_results(tmp_path):
    bench_dir = tmp_path / "bench"
    result = subprocess.run([sys.executable, "-m", "scripts.bench", "--dir", str(bench_dir), "--accounts", "1,2",
                             "--days", "6"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode in (0, 2), result.stdout + result.stderr  # 2: a target missed, not a broken step
    results = json.loads((bench_dir / "results.json").read_text())
    assert results["world"] == world_params(2, 6, 7) and results["generate"]["exit_code"] == 0
    small, big = results["scales"]
    assert [r["name"] for r in small["runs"]] == STEPS  # the make weekly pair only on the largest world
    assert [r["name"] for r in big["runs"]] == STEPS + ["make_weekly", "noop_weekly", "daily_one_scrape_incremental",
                                                         "incremental_weekly", "daily_one_scrape_full", "full_weekly"]
    assert small["raw"]["files"] == 1 * 2 * 6 and big["raw"]["files"] == 2 * 2 * 6
    assert 0 < small["raw"]["items"] < big["raw"]["items"] and 0 < small["raw"]["posts"] < big["raw"]["posts"]
    for run in small["runs"] + big["runs"] + results["compressed"]["runs"]:
        assert run["exit_code"] == 0 and run["seconds"] > 0 and run["max_rss_mb"] > 0, run
    assert big["noop_weekly_did_work"] is False  # the second make weekly really had nothing to do
    assert [r["name"] for r in results["compressed"]["runs"]] == ["compress_raw", "load_gz"]
    assert results["compressed"]["raw"]["gz_files"] == big["raw"]["files"] and results["compressed"]["ratio"] > 1
    assert set(results["growth"]) == set(STEPS)
    assert all(isinstance(g["time_k"], float) and isinstance(g["memory_k"], float) for g in results["growth"].values())
    assert len(results["targets"]) == 11 and all(t["value"] is not None for t in results["targets"])
    # the incremental weekly read the scraped account again and took the other's phase one from the cache
    incremental = next(r for r in big["runs"] if r["name"] == "incremental_weekly")
    assert "(from the cache: phase one of 1," in open(incremental["log"]).read()
    full = next(r for r in big["runs"] if r["name"] == "full_weekly")
    assert "(from the cache: phase one of 0, findings of 0)" in open(full["log"]).read()
    assert not (bench_dir / "ws-1").exists() and not (bench_dir / "ws-gz").exists()  # the sub-worlds are removed
    for word in ("load throughput", "k in time", "analyze", "make weekly, nothing new", "new scrape", "peak memory",
                 ".json.gz"):
        assert word in result.stdout
    assert ("FAIL" in result.stdout) == (result.returncode == 2)
    assert set(LIMITS) >= {"load_ratio", "time_k", "memory_k", "compression", "incremental_weekly_ratio"}


def test_growth_is_the_log_log_slope():
    def scale(accounts, seconds, rss):
        return {"accounts": accounts, "runs": [{"name": "load", "seconds": seconds, "max_rss_mb": rss, "exit_code": 0}]}
    fitted = growth([scale(10, 2.0, 100), scale(20, 4.0, 100), scale(40, 8.0, 100)])
    assert fitted["load"]["time_k"] == pytest.approx(1.0) and fitted["load"]["memory_k"] == pytest.approx(0.0)
    assert growth([scale(10, 1.0, 100), scale(100, 100.0, 1000)])["load"] == {"time_k": 2.0, "memory_k": 1.0}
    assert growth([scale(10, 1.0, 100)]) == {}


def test_analyzes_limit_is_checked_on_the_50_account_world_when_there_is_one():
    """BENCH_SCALE=large adds 100 accounts; analyze's 10 s is stated for 50. Without a 50-account
    world, the largest one is checked."""
    def scale(accounts, analyze, load):
        runs = [("bare_load", load), ("load", load), ("analyze", analyze)]
        return {"accounts": accounts, "noop_weekly_did_work": None,
                "runs": [{"name": n, "seconds": t, "max_rss_mb": 100, "exit_code": 0} for n, t in runs]}
    result = {"compressed": {"ratio": 10, "runs": []}, "growth": {}}
    result["compressed"]["runs"] = [{"name": "load_gz", "seconds": 1, "max_rss_mb": 1, "exit_code": 0}]
    checks = {t.name: t.value for t in targets({**result, "scales": [scale(10, 2, 1), scale(50, 6, 2),
                                                                      scale(100, 11, 4)]}, LIMITS)}
    assert checks["analyze, 50 accounts"] == 6
    checks = {t.name: t.value for t in targets({**result, "scales": [scale(10, 2, 1), scale(25, 4, 2)]}, LIMITS)}
    assert checks["analyze, 25 accounts"] == 4


def test_a_world_with_the_same_parameters_is_reused(tmp_path):
    params = world_params(3, 5, 11)
    (tmp_path / "ws").mkdir()
    write_json_atomic(tmp_path / "world.json", params)
    assert ensure_world(tmp_path, params, tmp_path) is None  # nothing generated
