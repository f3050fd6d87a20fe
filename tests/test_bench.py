"""make bench runs end to end on a tiny world and writes its results. No timing is asserted here:
on a shared 2-core machine a timing test would measure the neighbours, not the code."""
from __future__ import annotations

import json
import subprocess
import sys

from scripts.dev.bench import LIMITS, ensure_world, world_params
from scripts.core.files import write_json_atomic
from scripts.core.workspace import PROJECT_DIR

STEPS = ["generate", "bare_load", "load", "backfill", "analyze", "recommend", "dashboard", "make_weekly",
         "noop_weekly"]


def test_bench_measures_every_step_and_writes_results(tmp_path):
    bench_dir = tmp_path / "bench"
    result = subprocess.run([sys.executable, "-m", "scripts.bench", "--dir", str(bench_dir), "--accounts", "2",
                             "--days", "10"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode in (0, 2), result.stdout + result.stderr  # 2: a target missed, not a broken step
    results = json.loads((bench_dir / "results.json").read_text())
    assert [r["name"] for r in results["runs"]] == STEPS
    assert all(r["exit_code"] == 0 and r["seconds"] > 0 and r["max_rss_mb"] > 0 for r in results["runs"])
    assert results["world"] == world_params(2, 10, 7)
    assert results["raw"]["files"] == 2 * 2 * 10 and results["raw"]["items"] > 0
    assert set(results["throughput"]) == {"load", "bare_load"}
    assert [t["limit"] for t in results["targets"]] == list(LIMITS.values())
    assert all(t["value"] is not None for t in results["targets"])
    assert results["noop_weekly_did_work"] is False  # the second make weekly really had nothing to do
    for word in ("load throughput", "analyze", "make weekly, nothing new", "peak memory"):
        assert word in result.stdout
    assert ("FAIL" in result.stdout) == (result.returncode == 2)


def test_a_world_with_the_same_parameters_is_reused(tmp_path):
    params = world_params(3, 5, 11)
    (tmp_path / "ws").mkdir()
    write_json_atomic(tmp_path / "world.json", params)
    assert ensure_world(tmp_path, params, tmp_path) is None  # nothing generated
