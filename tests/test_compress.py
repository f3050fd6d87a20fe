"""Compressed raw envelopes (SPEC: a file may be <stamp>.json.gz; readers accept both): the reader,
the listing (one envelope per stamp), make compress-raw (verified, atomic, idempotent, a stopped or
failed run loses nothing) and load's identity of a converted file (never loaded again as new)."""
from __future__ import annotations

import gzip
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from scripts.core import files
from scripts.core.files import UnreadableJson, read_json
from scripts.core.workspace import Workspace
from scripts.dev.demo import build_workspace
from scripts.sources import compress
from scripts.sources.compress import compress_workspace
from scripts.store.load import load_workspace
from tests.conftest import raw_envelope, recorded_items, run_step, write_raw

def demo_world(root: Path, days: int = 12, accounts: int = 2) -> Workspace:
    build_workspace(root, seed=3, days=days, end=date(2026, 11, 23), null=False, accounts=accounts)
    return Workspace(root)


def contents(ws: Workspace) -> dict[str, bytes]:
    """stamp path (as .json) -> the envelope's bytes, however it is stored."""
    out = {}
    for path in ws.raw_files():
        data = path.read_bytes()
        out[str(path.parent / path.name.removesuffix(".gz"))] = gzip.decompress(data) if path.suffix == ".gz" else data
    return out


def db_rows(ws: Workspace) -> dict[str, list]:
    """What load stored, but the wall clock of each insert (posts.created_at)."""
    conn = sqlite3.connect(ws.db_path)
    try:
        out = {}
        for table in ("posts", "metrics_snapshots", "profile_snapshots", "metrics_at_age"):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "created_at"]
            out[table] = sorted(conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        conn.close()


# --- reading ----------------------------------------------------------------------------------------
def test_gz_reads_like_the_plain_file_and_a_bad_gz_is_one_line(tmp_path):
    plain = tmp_path / "a.json"
    plain.write_text('{"items": [1, 2, {"x": "é"}]}', encoding="utf-8")
    good = tmp_path / "a.json.gz"
    good.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_json(good) == read_json(plain)
    two_members = tmp_path / "b.json.gz"  # cat x.gz y.gz is one gzip file
    two_members.write_bytes(gzip.compress(b'{"items": ') + gzip.compress(b"[1]}"))
    assert read_json(two_members) == {"items": [1]}
    cases = {"corrupt": b"\x1f\x8b\x08\x00" + b"garbage" * 10, "truncated": gzip.compress(b'{"a": 1}' * 500)[:-30],
             "not gzip": b'{"a": 1}', "empty": b""}
    for name, data in cases.items():
        path = tmp_path / f"{name}.json.gz"
        path.write_bytes(data)
        with pytest.raises(UnreadableJson) as caught:
            read_json(path)
        assert "\n" not in str(caught.value), name
    bomb = tmp_path / "bomb.json.gz"  # 4 MiB of spaces in 4 KiB: refused at the cap, not inflated whole
    bomb.write_bytes(gzip.compress(b" " * (4 << 20)))
    with pytest.raises(UnreadableJson, match="larger than 1 MiB once decompressed"):
        read_json(bomb, max_bytes=1 << 20)


def test_integers_beyond_64_bits_read_as_the_standard_library_reads_them(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('{"id": 123456789012345678901234, "n": -99999999999999999999, "s": "12345678901234567890"}')
    value = read_json(path)
    assert value == {"id": 123456789012345678901234, "n": -99999999999999999999, "s": "12345678901234567890"}
    assert isinstance(value["id"], int)


def test_one_envelope_per_stamp_and_the_plain_file_wins(tmp_path):
    ws = Workspace(tmp_path)
    plain = write_raw(ws, raw_envelope("tiktok", recorded_items("tiktok")))
    twin = plain.with_name(plain.name + ".gz")
    twin.write_bytes(gzip.compress(plain.read_bytes()))
    other = write_raw(ws, raw_envelope("tiktok", recorded_items("tiktok"), scraped_at="2026-06-26T08:00:00Z"))
    only_gz = other.with_name(other.name + ".gz")
    only_gz.write_bytes(gzip.compress(other.read_bytes()))
    other.unlink()
    assert ws.raw_files() == [plain, only_gz]
    assert ws.has_raw_files()


def test_a_gz_envelope_loads_under_the_envelopes_name_and_a_broken_one_is_rejected_alone(tmp_path):
    ws = demo_world(tmp_path / "ws", days=3)
    victims = ws.raw_files()[:3]
    for path, how in zip(victims, ("ok", "truncated", "corrupt")):
        data = gzip.compress(path.read_bytes())
        path.with_name(path.name + ".gz").write_bytes({"ok": data, "truncated": data[:len(data) // 2],
                                                        "corrupt": data[:10] + b"\0" * 50 + data[60:]}[how])
        path.unlink()
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("load: error:")]
    assert len(errors) == 2, result.stderr
    assert all(".json.gz:" in line and "moved to data/raw/_rejected/" in line for line in errors)
    loaded = dict(sqlite3.connect(ws.db_path).execute("SELECT path, size FROM raw_files").fetchall())
    ok = victims[0].relative_to(ws.root)
    assert str(ok) in loaded and loaded[str(ok)] == (ws.root / f"{ok}.gz").stat().st_size
    assert len(loaded) == len(ws.raw_files())  # every other file, the good .gz among them
    rerun = run_step("load", ws.root, check=False)  # the rejected stay open problems, listed once each
    assert rerun.returncode == 1 and rerun.stderr.count("rejected earlier") == 2


# --- make compress-raw ------------------------------------------------------------------------------
def test_compress_raw_converts_verified_files_and_load_knows_them(tmp_path):
    ws = demo_world(tmp_path / "ws")
    before = contents(ws)
    run_step("load", ws.root)
    stored = db_rows(ws)
    size_plain = sum(p.stat().st_size for p in ws.raw_files())
    out = run_step("compress_raw", ws.root).stdout
    assert "compress-raw: 48 raw files gzipped" in out
    assert all(p.name.endswith(".json.gz") for p in ws.raw_files()) and len(ws.raw_files()) == len(before)
    assert contents(ws) == before
    assert not list(ws.raw_dir.glob("*/*/.*"))  # no temporary file left
    assert size_plain / sum(p.stat().st_size for p in ws.raw_files()) >= 5  # the bar
    again = run_step("load", ws.root).stdout
    assert "load: 0 new or changed raw files loaded" in again  # recognised, not read again
    assert db_rows(ws) == stored
    sizes = dict(sqlite3.connect(ws.db_path).execute("SELECT path, size FROM raw_files").fetchall())
    assert sizes == {str(p.relative_to(ws.root)).removesuffix(".gz"): p.stat().st_size for p in ws.raw_files()}
    assert "compress-raw: 0 raw files gzipped" in run_step("compress_raw", ws.root).stdout  # idempotent
    assert contents(ws) == before


def test_a_workspace_converted_before_its_first_load_loads_the_same(tmp_path):
    plain = demo_world(tmp_path / "plain")
    shutil.copytree(plain.root, tmp_path / "packed")
    packed = Workspace(tmp_path / "packed")
    run_step("compress_raw", packed.root)
    run_step("load", plain.root)
    run_step("load", packed.root)
    assert db_rows(plain) == db_rows(packed)


def test_a_conversion_stopped_after_the_rename_is_one_envelope_and_is_finished_later(tmp_path):
    ws = demo_world(tmp_path / "ws", days=3)
    first = ws.raw_files()[0]
    (first.parent / f".{first.name}.gz.verify.tmp").write_bytes(b"half")  # killed while writing
    twin = first.with_name(first.name + ".gz")
    twin.write_bytes(gzip.compress(first.read_bytes()))  # killed between the rename and the unlink
    os.utime(twin, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    before = contents(ws)
    out = run_step("load", ws.root).stdout
    assert f"load: {len(before)} new or changed raw files loaded" in out
    out = run_step("compress_raw", ws.root).stdout
    assert "1 left by an earlier run finished" in out and not first.exists() and twin.exists()
    assert not list(ws.raw_dir.glob("*/*/.*")) and contents(ws) == before
    assert "load: 0 new or changed raw files loaded" in run_step("load", ws.root).stdout


def test_a_twin_that_differs_is_reported_and_both_kept(tmp_path):
    ws = demo_world(tmp_path / "ws", days=3)
    first = ws.raw_files()[0]
    twin = first.with_name(first.name + ".gz")
    twin.write_bytes(gzip.compress(b'{"something": "else"}'))
    result = run_step("compress_raw", ws.root, check=False)
    assert result.returncode == 1
    [line] = [l for l in result.stderr.splitlines() if "error" in l]
    assert str(first.relative_to(ws.root)) in line and "holds something else; both kept" in line
    assert first.exists() and twin.exists()


@pytest.mark.parametrize("fault", ["write", "verify", "rename"])
def test_a_failed_conversion_loses_nothing(tmp_path, monkeypatch, fault):
    ws = demo_world(tmp_path / "ws", days=3)
    before = contents(ws)
    victim = ws.raw_files()[2]
    real_write, real_holds, real_replace = files._write_and_rename, compress._holds, os.replace

    def write(path, data, mtime_ns=None):
        if fault == "write" and path.parent == victim.parent and victim.name in path.name:
            raise OSError(28, "No space left on device")
        return real_write(path, data, mtime_ns)

    def holds(path, data):
        victims = fault == "verify" and path.parent == victim.parent and victim.name in path.name
        return False if victims else real_holds(path, data)

    def replace(src, dst):
        if fault == "rename" and Path(dst).parent == victim.parent and victim.name in str(dst):
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)
    monkeypatch.setattr(files, "_write_and_rename", write)
    monkeypatch.setattr(compress, "_holds", holds)
    monkeypatch.setattr(compress.os, "replace", replace)
    problems = compress_workspace(ws, quiet=True)
    assert len(problems.lines) == 1 and str(victim.relative_to(ws.root)) in problems.lines[0]
    assert victim.exists() and not victim.with_name(victim.name + ".gz").exists()
    assert contents(ws) == before  # every envelope readable, the same bytes
    assert not list(ws.raw_dir.glob("*/*/.*"))
    monkeypatch.undo()
    assert compress_workspace(ws, quiet=True).lines == [] and contents(ws) == before


def test_a_killed_compress_raw_leaves_a_valid_workspace(tmp_path):
    """SIGKILL at some moment of the run: every envelope is still there, once, with its bytes;
    load and a second compress-raw finish the job."""
    ws = demo_world(tmp_path / "ws", days=40, accounts=3)
    before = contents(ws)
    process = subprocess.Popen([sys.executable, "-m", "scripts.compress_raw", "--root", str(ws.root)],
                               cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(ws.raw_dir.glob("*/*/*.json.gz")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert contents(ws) == before
    assert load_workspace(ws, quiet=True).lines == []
    stored = db_rows(ws)
    assert compress_workspace(ws, quiet=True).lines == []
    assert all(p.name.endswith(".json.gz") for p in ws.raw_files()) and contents(ws) == before
    assert not list(ws.raw_dir.glob("*/*/.*"))
    assert load_workspace(ws, quiet=True).lines == [] and db_rows(ws) == stored


def test_make_compress_raw_holds_the_lock_and_is_documented(tmp_path):
    ws = demo_world(tmp_path / "ws", days=2)
    result = subprocess.run(["make", "compress-raw", f"ROOT={ws.root}"], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compress-raw: 8 raw files gzipped" in result.stdout


# --- scrape and import write .json.gz ---------------------------------------------------------------
def test_the_gz_writer_is_atomic_and_compact(tmp_path):
    target = tmp_path / "raw" / "20261120T080004Z.json.gz"
    envelope = raw_envelope("tiktok", recorded_items("tiktok") * 20)
    files.write_json_gz_atomic(target, envelope)
    assert read_json(target) == envelope and not list(target.parent.glob(".*"))
    with pytest.raises(files.WriteFailed):
        files.write_json_gz_atomic(target, {"x": float("nan")})
    assert read_json(target) == envelope  # the old file untouched
    assert gzip.decompress(target.read_bytes()).startswith(b'{"account":')  # compact JSON inside
