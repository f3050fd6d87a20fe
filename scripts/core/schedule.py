"""make cron: print the crontab lines and the macOS launchd plists that run the pipeline unattended:
`make daily` every day at 08:00 and `make weekly` every Monday at 09:00, in the machine's local time.

Nothing is installed: the user pastes the lines into `crontab -e`, or copies the plists into
~/Library/LaunchAgents (--plist-dir writes them there) and loads them with launchctl.
"""
from __future__ import annotations

import plistlib
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path


from scripts.core.files import write_text_atomic
from scripts.core.workspace import PROJECT_DIR, Workspace

LOG_NAME = "cron.log"
# a weekly run that finds the daily one still scraping waits for it instead of giving up (exit 75)
LOCK_WAIT_SECONDS = 3600
# launchd starts jobs with a bare PATH; Homebrew's GNU make and python live here
LAUNCHD_PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Schedule:
    target: str
    minute: int
    hour: int
    weekday: int | None  # 0/7 = Sunday, 1 = Monday (cron and launchd agree); None = every day


SCHEDULES = (Schedule("daily", 0, 8, None), Schedule("weekly", 0, 9, 1))


def make_command(make: str, target: str, root: Path) -> list[str]:
    return [make, target, f"ROOT={root}", f"LOCK_WAIT={LOCK_WAIT_SECONDS}"]


def crontab_line(schedule: Schedule, make: str, root: Path, log: Path) -> str:
    fields = f"{schedule.minute} {schedule.hour} * * {'*' if schedule.weekday is None else schedule.weekday}"
    command = (f"cd {shlex.quote(str(PROJECT_DIR))} && "
               f"{shlex.join(make_command(make, schedule.target, root))} >> {shlex.quote(str(log))} 2>&1")
    return f"{fields} " + command.replace("%", "\\%")  # cron turns a bare % into a newline


def crontab(make: str, root: Path, log: Path) -> str:
    lines = [
        "# account-analytics (times are this machine's local time; cron has no APIFY_TOKEN:",
        f"# keep it in {PROJECT_DIR / '.env'} or {root / '.env'}).",
        "# Each run holds data/.pipeline.lock: a run that finds another one still going waits up to",
        f"# LOCK_WAIT={LOCK_WAIT_SECONDS} s, then exits 75 without touching anything; a non-zero exit",
        "# (a failed scrape, a bad account) is what cron mails you about; details are in the log.",
        *(crontab_line(s, make, root, log) for s in SCHEDULES),
    ]
    return "\n".join(lines) + "\n"


def label(root: Path, target: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-") or "workspace"
    return f"com.account-analytics.{slug}.{target}"


def launchd_plist(schedule: Schedule, make: str, root: Path, log: Path) -> bytes:
    interval = {"Hour": schedule.hour, "Minute": schedule.minute}
    if schedule.weekday is not None:
        interval["Weekday"] = schedule.weekday
    return plistlib.dumps({
        "Label": label(root, schedule.target),
        "ProgramArguments": make_command(make, schedule.target, root),
        "WorkingDirectory": str(PROJECT_DIR),
        "StartCalendarInterval": interval,
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
        "EnvironmentVariables": {"PATH": LAUNCHD_PATH},
    })


def resolve_make(make: str) -> str:
    """An absolute path: cron and launchd do not search the login shell's PATH."""
    return shutil.which(make) or make


def render(make: str, root: Path, log: Path) -> str:
    out = ["# === crontab: run `crontab -e` and paste these lines ===", crontab(make, root, log)]
    for schedule in SCHEDULES:
        name = f"{label(root, schedule.target)}.plist"
        out += [f"# === launchd (macOS): ~/Library/LaunchAgents/{name}, then "
                f"`launchctl load ~/Library/LaunchAgents/{name}` ===",
                launchd_plist(schedule, make, root, log).decode()]
    return "\n".join(out)


def print_schedule(root: str, make: str, log: str | None, plist_dir: str | None) -> None:
    ws_root = Path(root).resolve()
    log_path = Path(log).resolve() if log else Workspace(ws_root).data_dir / LOG_NAME
    make_path = resolve_make(make)
    log_path.parent.mkdir(parents=True, exist_ok=True)  # neither cron's >> nor launchd creates folders
    print(render(make_path, ws_root, log_path), end="")
    if plist_dir:
        for schedule in SCHEDULES:
            target = Path(plist_dir) / f"{label(ws_root, schedule.target)}.plist"
            write_text_atomic(target, launchd_plist(schedule, make_path, ws_root, log_path).decode())
            print(f"# wrote {target}")
