"""Progress bars (scripts/core/progress.py): drawn on a terminal's stderr, silent otherwise (cron,
make's pipes, --quiet, ANALYTICS_PROGRESS=0), and the steps that take long use them."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from rich.console import Console

from scripts.core.progress import progress, shown
from scripts.core.workspace import PROJECT_DIR
from tests.conftest import raw_envelope, recorded_items, write_raw


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_a_bar_is_drawn_on_a_terminal():
    console, out = terminal()
    with progress(3, "load: raw files", console=console) as bar:
        assert bar.drawn
        for _ in range(3):
            bar.advance()
    assert "load: raw files" in out.getvalue() and "3/3" in out.getvalue()


def test_no_bar_when_quiet_switched_off_or_not_a_terminal(monkeypatch, capsys):
    console, out = terminal()
    with progress(3, "quiet", quiet=True, console=console) as bar:
        bar.advance()
        bar.update(total=5, description="still nothing")
        assert not bar.drawn
    monkeypatch.setenv("ANALYTICS_PROGRESS", "0")
    with progress(3, "switched off", console=console) as bar:
        assert not bar.drawn
    monkeypatch.delenv("ANALYTICS_PROGRESS")
    pipe = Console(file=io.StringIO())  # not a terminal, like cron's log
    assert not shown(console=pipe)
    with progress(3, "piped") as bar:  # pytest's stderr is no terminal
        assert not bar.drawn
        bar.advance()
    assert out.getvalue() == "" and capsys.readouterr().err == ""


def run_with_stderr_on_a_pty(args: list[str]) -> tuple[int, str]:
    """A step with stdout piped and stderr on a pseudo-terminal: what a person at a terminal sees."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(args, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the step ended and closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    return process.wait(), seen.decode("utf-8", "replace")


def test_load_draws_its_bar_on_a_terminal_and_nothing_into_a_pipe(tmp_path):
    from scripts.core.workspace import Workspace
    ws = Workspace(tmp_path / "ws")
    for hour in range(8, 20):
        write_raw(ws, raw_envelope("tiktok", recorded_items("tiktok"), scraped_at=f"2026-06-25T{hour:02d}:00:00Z"))
    code, seen = run_with_stderr_on_a_pty([sys.executable, "-m", "scripts.load", "--root", str(ws.root), "--full"])
    assert code == 0 and "load: raw files" in seen
    piped = subprocess.run([sys.executable, "-m", "scripts.load", "--root", str(ws.root), "--full"], cwd=PROJECT_DIR,
                           capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == ""  # cron's log gets no bar
    code, seen = run_with_stderr_on_a_pty([sys.executable, "-m", "scripts.load", "--root", str(ws.root), "--full",
                                           "--quiet"])
    assert code == 0 and "raw files" not in seen
