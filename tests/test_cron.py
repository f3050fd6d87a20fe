"""make cron / scripts.cron: crontab lines that cron can parse, launchd plists that plistlib reads."""
from __future__ import annotations

import plistlib
import shlex
import subprocess

import pytest

from scripts.core.workspace import PROJECT_DIR
from tests.conftest import run_step

CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]   # minute hour day-of-month month day-of-week


def sections(output: str) -> dict[str, str]:
    """'# === <title> ===' headed blocks of the printed text."""
    found, title = {}, None
    for line in output.splitlines(keepends=True):
        if line.startswith("# === "):
            title = line.strip("# =\n").split(":")[0]
            found[title] = ""
        elif title is not None and not (title == "crontab" and line.startswith("#")):
            found[title] += line
    return found


def launchd_blocks(output: str) -> list[dict]:
    blocks = output.split("# === launchd")[1:]
    return [plistlib.loads(block.split("===\n", 1)[1].split("# wrote")[0].strip().encode()) for block in blocks]


def parse_crontab(text: str) -> list[tuple[list[int | str], str]]:
    """Each job line: its five time fields (checked against cron's ranges) and the command."""
    jobs = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 5)
        assert len(parts) == 6, f"not 5 fields + command: {line!r}"
        fields = []
        for value, (low, high) in zip(parts[:5], CRON_RANGES):
            if value != "*":
                assert value.isdigit() and low <= int(value) <= high, f"bad cron field {value!r} in {line!r}"
            fields.append(value if value == "*" else int(value))
        jobs.append((fields, parts[5]))
    return jobs


@pytest.fixture
def root(tmp_path):
    target = tmp_path / "my ws 100%"   # a space and cron's special % character
    target.mkdir()
    return target


def test_crontab_lines_and_plists(root, tmp_path):
    agents = tmp_path / "LaunchAgents"
    result = run_step("cron", root, "--plist-dir", str(agents))
    jobs = parse_crontab(sections(result.stdout)["crontab"])
    assert [fields for fields, _ in jobs] == [[0, 8, "*", "*", "*"], [0, 9, "*", "*", 1]]
    for (_, command), target in zip(jobs, ("daily", "weekly")):
        words = shlex.split(command.replace("\\%", "%"))   # what cron hands to sh
        assert words[:3] == ["cd", str(PROJECT_DIR), "&&"]
        assert words[3].startswith("/") and words[4] == target and f"ROOT={root}" in words
        assert any(w.startswith("LOCK_WAIT=") for w in words)
        assert words[-3:] == [">>", str(root / "data" / "cron.log"), "2>&1"]
    assert "%" not in command.replace("\\%", "")   # every % escaped, or cron would cut the line there
    assert (root / "data").is_dir()   # the log's folder exists before cron's >> needs it
    daily, weekly = launchd_blocks(result.stdout)
    assert daily["StartCalendarInterval"] == {"Hour": 8, "Minute": 0}
    assert weekly["StartCalendarInterval"] == {"Weekday": 1, "Hour": 9, "Minute": 0}
    assert daily["ProgramArguments"][1:3] == ["daily", f"ROOT={root}"]
    assert daily["WorkingDirectory"] == str(PROJECT_DIR)
    assert daily["StandardOutPath"] == str(root / "data" / "cron.log")
    assert daily["Label"] != weekly["Label"]
    written = sorted(agents.glob("*.plist"))
    assert [plistlib.loads(p.read_bytes()) for p in written] == [daily, weekly]
    assert [p.name for p in written] == [f"{daily['Label']}.plist", f"{weekly['Label']}.plist"]


def test_make_cron_prints_only_the_schedule(tmp_path):
    root = tmp_path / "ws"   # Make itself cannot take a ROOT with spaces
    result = subprocess.run(["make", "cron", f"ROOT={root}"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# === crontab")   # no make echo: the output can be pasted as is
    assert len(parse_crontab(sections(result.stdout)["crontab"])) == 2
    assert [p["ProgramArguments"][1] for p in launchd_blocks(result.stdout)] == ["daily", "weekly"]
