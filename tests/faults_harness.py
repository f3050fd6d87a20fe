"""The machinery of tests/test_fault_injection.py: run a `make` target in its own process group,
find one step's Python process in it, kill it (or the whole group) at a chosen moment, and
compare a workspace with an uninterrupted run (the database table by table, the artifacts file
by file, wall-clock fields left out).

Kept apart from the test file so that the comparator can be checked on its own (a harness whose
comparison cannot fail proves nothing) and reused for other fault tests."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.core.workspace import PROJECT_DIR

# The pipeline's clock for every make run: the steps read it (--now / ANALYTICS_NOW), so the
# dates they write (created_at of a proposal, last_updated of a context, approved_at) are the
# same in every run and can be compared. The demo world's last scrape is on this day, 08:xx UTC.
NOW = "2026-11-23T12:00:00Z"

# Columns that hold the wall clock even with ANALYTICS_NOW set (utc_now() or SQLite's 'now'),
# so two correct runs differ there: left out of the checksums. Every other column is compared.
# check_ignored_columns() fails when one of them no longer exists in sql/tables/*.sql.
WALL_CLOCK_COLUMNS = {
    "posts": ("created_at",),          # DEFAULT (strftime(..., 'now'))
    "raw_files": ("loaded_at",),       # utc_now() in store/load.py
    "backfill_runs": ("run_at",),      # utc_now() in store/backfill.py
}
# JSON keys that hold the wall clock, at any depth of an insights file (analysis/analyze.py)
WALL_CLOCK_KEYS = ("generated_at",)
DB_NAME = "analytics.db"


# --- running make ------------------------------------------------------------------------------

def make_env() -> dict[str, str]:
    """The environment of a cron run: no make state inherited from a `make test`, no API key (the
    proposals come from the rules, not from Claude), and the fixed clock."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ANTHROPIC_API_KEY")}
    env["ANALYTICS_NOW"] = NOW
    return env


@dataclass
class MakeRun:
    target: str
    returncode: int
    output: str          # stdout and stderr, interleaved

    def describe(self) -> str:
        tail = "\n".join(self.output.splitlines()[-25:])
        return f"`make {self.target}` exited {self.returncode}; its output ends:\n{tail}"


def run_make(target: str, root: Path, timeout: float = 120) -> MakeRun:
    """`make <target> ROOT=root` to its end (a hung run is killed with its whole group)."""
    proc = subprocess.Popen(["make", target, f"ROOT={root}"], cwd=PROJECT_DIR, env=make_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return MakeRun(target, -1, f"{output}\n(killed after {timeout} s: hung)")
    return MakeRun(target, proc.returncode, output)


# --- the processes of one make run -----------------------------------------------------------------

def _stat_fields(pid: str) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, ...], or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def alive(pid: int) -> bool:
    """Running (not exited, not a zombie waiting for its parent)."""
    fields = _stat_fields(str(pid))
    return fields is not None and fields[0] not in ("Z", "X")


def group_gone(pgid: int, deadline: float) -> None:
    """Wait until no live process of the group is left (a killed worker still holding the
    pipeline lock's descriptor would make the rerun stop at the lock)."""
    def members() -> bool:
        return any(entry.name.isdigit() and (fields := _stat_fields(entry.name)) is not None
                   and fields[0] not in ("Z", "X") and int(fields[2]) == pgid for entry in os.scandir("/proc"))
    while members() and time.monotonic() < deadline:
        time.sleep(0.02)


def step_pid(pgid: int, step: str) -> int | None:
    """The live `python -m scripts.<step>` process of process group pgid, if there is one (the
    `bash -c '... scripts.<step> ...'` around it has the name inside one argument, not as two)."""
    wanted = ["-m", f"scripts.{step}"]
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is None or fields[0] in ("Z", "X") or int(fields[2]) != pgid:
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                argv = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(argv[i:i + 2] == wanted for i in range(len(argv) - 1)):
            return int(entry.name)
    return None


def marker_state(root: Path, paths: tuple[str, ...]) -> tuple:
    """(mtime, size) of each watched path (a file or a folder; a folder's mtime moves when a file
    is created in it or renamed into it), or None where it does not exist."""
    state = []
    for rel in paths:
        for path in sorted(root.glob(rel)) or [root / rel]:
            try:
                st = path.stat()
                state.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                state.append((str(path), None))
    return tuple(state)


@dataclass
class Watched:
    """One make run watched (and perhaps interrupted) while a given step ran."""
    make: MakeRun
    started: float | None = None      # monotonic time the step's process was seen
    first_write: float | None = None  # ... it first changed a watched path
    ended: float | None = None        # ... it was seen gone (None: killed)
    killed: str | None = None         # "step" or "group" when the kill landed on the live step
    notes: list[str] = field(default_factory=list)

    @property
    def window(self) -> float | None:
        """Seconds from the step's first write to its end: where a kill can leave work half done."""
        if self.first_write is None or self.ended is None:
            return None
        return self.ended - self.first_write


def watch_make(target: str, root: Path, step: str, markers: tuple[str, ...], *, kill: str | None = None,
               delay: float = 0.0, log: Path, timeout: float = 120, poll: float = 0.002) -> Watched:
    """Run `make <target> ROOT=root` in a new session (its own process group). Watch for
    `python -m scripts.<step>` and for its first write to one of the marker paths; with kill
    ("step" or "group"), SIGKILL the step's process or the whole group `delay` seconds after that
    first write. Returns when make has ended."""
    baseline = marker_state(root, markers)
    with open(log, "w+", encoding="utf-8") as out:
        proc = subprocess.Popen(["make", target, f"ROOT={root}"], cwd=PROJECT_DIR, env=make_env(),
                                stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        watched = Watched(MakeRun(target, -1, ""))
        deadline = time.monotonic() + timeout
        pid = None
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                now = time.monotonic()
                if pid is None:
                    pid = step_pid(proc.pid, step)
                    if pid is not None:
                        watched.started = now
                elif watched.first_write is None:
                    if marker_state(root, markers) != baseline:
                        watched.first_write = now
                        if kill:
                            break
                    elif not alive(pid):
                        watched.ended = now
                elif not alive(pid):
                    watched.ended = now
                if watched.ended is not None:
                    break
                time.sleep(poll if pid else 5 * poll)  # a step's imports take 100s of ms: scan /proc less often
            if kill and watched.first_write is not None and proc.poll() is None:
                time.sleep(delay)
                if alive(pid):
                    if kill == "step":
                        os.kill(pid, signal.SIGKILL)
                    else:
                        os.killpg(proc.pid, signal.SIGKILL)
                    watched.killed = kill
                else:
                    watched.notes.append(f"scripts.{step} had ended before the kill")
            elif kill:
                watched.notes.append(f"scripts.{step} was not seen writing before it ended")
            elif watched.ended is None and pid is not None:
                while alive(pid) and time.monotonic() < deadline:
                    time.sleep(poll)
                watched.ended = time.monotonic()
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            if watched.killed == "group":  # make is reaped first; its children may still be exiting
                group_gone(proc.pid, deadline)
        finally:
            if proc.poll() is None:  # a hung run: end it and its group, the test then fails
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.seek(0)
        watched.make = MakeRun(target, proc.returncode, out.read())
    return watched


# --- workspaces ------------------------------------------------------------------------------------

def clone(source: Path, target: Path) -> Path:
    """A private copy of a workspace: files with their mtimes (so make sees the same stamps as up
    to date), the database through SQLite's backup API (as tests/conftest.py copy_workspace)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(f"{DB_NAME}*", ".pipeline.lock"))
    db = source / "data" / DB_NAME
    if db.exists():
        with contextlib.closing(sqlite3.connect(db)) as original, \
                contextlib.closing(sqlite3.connect(target / "data" / DB_NAME)) as copy:
            original.backup(copy)
    return target


def approve_all(root: Path) -> list[str]:
    """Approve every pending recommendation: moving it into recommendations/approved/ is what
    approving is (`git mv` in a real workspace)."""
    names = []
    for path in sorted((root / "recommendations" / "pending").glob("*.json")):
        shutil.move(str(path), root / "recommendations" / "approved" / path.name)
        names.append(path.name)
    return names


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.tmp"))


# --- what a run leaves behind, comparable between runs ----------------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _strip(value, keys: tuple[str, ...]):
    if isinstance(value, dict):
        return {k: _strip(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_strip(v, keys) for v in value]
    return value


def _json_digest(path: Path, root: Path, ignore: tuple[str, ...] = ()) -> str:
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError:
        return f"not JSON, {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:16]}"
    text = json.dumps(_strip(data, ignore), sort_keys=True, ensure_ascii=False).replace(str(root), "<ROOT>")
    return f"sha256 {_digest(text)}"


@dataclass
class Table:
    columns: list[str]   # the compared ones (wall-clock columns left out)
    key: list[int]       # indexes of its primary key's columns among them (else the first column)
    rows: list[tuple]    # sorted


def table_rows(db: Path) -> dict[str, Table]:
    tables = {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in names:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()  # cid, name, type, notnull, default, pk
            kept = [r[1] for r in info if r[1] not in WALL_CLOCK_COLUMNS.get(table, ())]
            key = [kept.index(r[1]) for r in sorted(info, key=lambda r: r[5]) if r[5] and r[1] in kept] or [0]
            rows = conn.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in kept)} FROM "{table}"').fetchall()
            tables[table] = Table(kept, key, sorted(rows, key=repr))
    return tables


def db_summary(db: Path) -> dict[str, str]:
    """Per table: its row count and a checksum of its rows."""
    if not db.exists():
        return {"db": "missing"}
    return {f"db:{name}": f"{len(t.rows)} rows, sha256 {_digest(chr(10).join(map(repr, t.rows)))}"
            for name, t in table_rows(db).items()}


def snapshot(root: Path) -> dict[str, str]:
    """Everything the comparison looks at, one key per table or file."""
    root = Path(root)
    result = db_summary(root / "data" / DB_NAME)
    raw = sorted(f"{p.relative_to(root)} {p.stat().st_size}" for p in (root / "data" / "raw").rglob("*") if p.is_file())
    result["files:data/raw"] = f"{len(raw)} files, sha256 {_digest(chr(10).join(raw))}"
    for path in sorted((root / "data" / "insights").glob("*.json")):
        result[f"file:{path.relative_to(root)}"] = _json_digest(path, root, WALL_CLOCK_KEYS)
    for path in sorted((root / "recommendations").glob("*/*")):
        if path.is_file() and path.suffix != ".tmp":  # temp files: temp_files() reports them
            # created_at is the pipeline clock (ANALYTICS_NOW): compared
            result[f"file:{path.relative_to(root)}"] = _json_digest(path, root)
    for path in sorted((root / "accounts").glob("*/performance_context.json")):
        result[f"file:{path.relative_to(root)}"] = _json_digest(path, root)  # last_updated: the clock too
    for path in sorted((root / "data" / "dashboard").glob("*.html")):
        result[f"file:{path.relative_to(root)}"] = "exists" if path.stat().st_size else "empty"
    return result


def differences(expected: dict[str, str], actual: dict[str, str], skip: tuple[str, ...] = ()) -> list[str]:
    """One line per key whose value differs (skip: key prefixes left out)."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        if key.startswith(skip):
            continue
        want, got = expected.get(key, "(absent)"), actual.get(key, "(absent)")
        if want != got:
            lines.append(f"  {key}: {got}, uninterrupted run: {want}")
    return lines


def check_ignored_columns() -> list[str]:
    """The wall-clock columns left out that sql/tables/*.sql no longer defines (a stale list would
    hide nothing, but would mean a new clock column went unnoticed)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((PROJECT_DIR / "sql" / "tables").glob("*.sql")))
    missing = []
    for table, columns in WALL_CLOCK_COLUMNS.items():
        body = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\n\)", text, re.DOTALL)
        for column in columns:
            if not body or not re.search(rf"^\s*{column}\s", body.group(1), re.MULTILINE):
                missing.append(f"{table}.{column}")
    return missing


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _keyed(table: Table, rows: list[tuple]) -> dict:
    """Rows by their primary key, or by the whole row where the key does not tell them apart."""
    keyed = {tuple(row[i] for i in table.key): row for row in rows}
    return keyed if len(keyed) == len(rows) else {row: row for row in rows}


def explain(expected_root: Path, actual_root: Path, lines: list[str], examples: int = 3) -> list[str]:
    """The difference lines; under each database table's, a few of its differing rows: rows are
    paired by primary key, and for a pair only the columns that differ are shown."""
    out = []
    tables: dict[str, dict[str, Table]] = {}
    for line in lines:
        out.append(line)
        key = line.strip().split(": ")[0]
        if not key.startswith("db:"):
            continue
        if not tables:
            with contextlib.suppress(sqlite3.Error, OSError):
                tables = {"want": table_rows(expected_root / "data" / DB_NAME),
                          "got": table_rows(actual_root / "data" / DB_NAME)}
        name = key[3:]
        if name not in tables.get("want", {}) or name not in tables.get("got", {}):
            continue
        want_table, got_table = tables["want"][name], tables["got"][name]
        common = set(want_table.rows) & set(got_table.rows)
        want = _keyed(want_table, [row for row in want_table.rows if row not in common])
        got = _keyed(want_table, [row for row in got_table.rows if row not in common])
        paired = [k for k in want if k in got] if got_table.columns == want_table.columns else []
        if paired:
            key_name = ",".join(want_table.columns[i] for i in want_table.key)
            out.append(f"    {len(paired)} rows differ, e.g.:")
            for k in paired[:examples]:
                cells = [f"{c}={_short(g)} (uninterrupted: {_short(w)})"
                         for c, g, w in zip(want_table.columns, got[k], want[k]) if g != w]
                out.append(f"      {key_name}={_short(k[0] if len(k) == 1 else k)}: {'; '.join(cells)}")
        for label, rows in (("missing (only in the uninterrupted run)", want), ("extra (not in the uninterrupted run)", got)):
            alone = [row for k, row in rows.items() if k not in paired]
            if alone:
                out.append(f"    {len(alone)} rows {label}, e.g.:")
                out.extend(f"      {_short(row)}" for row in alone[:examples])
    return out
