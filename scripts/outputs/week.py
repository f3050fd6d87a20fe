"""What an account manager decides and learns this week, shared by the dashboard and the digest:
the pending proposals in plain words with their commands, what changed since last week, and what
happened to earlier changes (the analyzer's follow-ups, when the insights file has them).

"What changed" compares this week's findings with an earlier run's. The analyzer overwrites
data/insights/<account>.json, so the dashboard step keeps a short history of each file's findings in
data/insights/history/<account>.json (only when the insights are newer than the last entry, so
building the dashboard twice changes nothing). The comparison is with the newest entry at least six
days older than the current insights, or else the oldest earlier one.
"""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scripts.analysis.headlines import (CONFIDENCE_TAGS, finding_headline, label, level_words, proposal_headline,
                                        ratio_words)
from scripts.core.files import UnreadableJson, read_json, write_json_atomic
from scripts.core.findings import CONFIDENCE_RANK, finding_rank
from scripts.core.timeutil import parse_utc
from scripts.core.workspace import Workspace
from scripts.proposals.decide import short_id
from scripts.proposals.recfiles import RecFile, describe_patch

HISTORY_KEEP = 12          # runs kept per account (about three months of weekly runs)
WEEK = timedelta(days=6)   # "last week": an earlier run at least this much older
MAX_CHANGES = 8
GLYPHS = {"high": "●●●", "medium": "●●○", "low": "●○○"}
TAGS = {"high": "confident", "medium": "probably", "low": "hint"}


# --- the proposals of this week ---------------------------------------------------------------

@dataclass
class Decision:
    short: str
    account: str
    confidence: str
    headline: str
    change: list[str]
    insight: str
    file: str
    finding: dict | None
    root: str = ""  # " ROOT=<workspace>" when the workspace is not the repository itself

    @property
    def approve(self) -> str:
        return f"make approve{self.root} ID={self.short}"

    @property
    def reject(self) -> str:
        return f"make reject{self.root} ID={self.short}"


def root_arg(ws: Workspace) -> str:
    """What a printed make command needs to reach this workspace: '' for the repository itself."""
    return "" if str(ws.root) in (".", "") else f" ROOT={shlex.quote(str(ws.root))}"


# the context fields a patch changes, as the generator's settings read to a person
FIELD_WORDS = {"format_weights": "format weight", "optimal_slide_count": "slides per post",
               "hook_insights/worst_styles": "hook styles to avoid", "hook_insights/best_styles": "hook styles to use",
               "hook_insights/reference_hooks": "example hooks", "experiment_suggestions": "experiments to suggest",
               "top_pillars": "topics to write more of", "underperforming_pillars": "topics to write less of",
               "save_vs_share": "save-or-share goal", "posting_windows": "posting hours"}


_HOURS = re.compile(r"\{'start_hour': (\d+), 'end_hour': (\d+)\}")


def change_words(line: str) -> str:
    """One line of describe_patch ('format_weights/step_guide: 1.0 -> 1.6') in words
    ('format weight of step-by-step guides: 1.0 -> 1.6'); 'null' reads 'not set'."""
    where, _, what = line.partition(": ")
    for field in sorted(FIELD_WORDS, key=len, reverse=True):
        if where == field or where.startswith(field + "/"):
            rest = where[len(field):].lstrip("/")
            where = FIELD_WORDS[field] + (f" of {level_words(rest)}" if rest else "")
            break
    what = _HOURS.sub(lambda m: f"{int(m[1]):02d}:00–{int(m[2]):02d}:59", what)   # a posting window
    return f"{where}: {what.replace('null', 'not set')}" if what else where


def decision(rec: RecFile, findings: dict[str, dict], root: str = "") -> Decision:
    data = rec.data
    finding = findings.get((data.get("evidence") or {}).get("finding"))
    changes = [f"{account}: {change_words(line)}" if len(rec.patches) > 1 or account != rec.account
               else change_words(line) for account, patch in rec.patches.items() for line in describe_patch(patch)]
    return Decision(short=short_id(data["id"]), account=rec.account, confidence=data["confidence"],
                    headline=data.get("headline") or proposal_headline(data, finding),
                    change=changes, insight=data["insight"],
                    file=rec.path.name, finding=finding, root=root)


def headline(finding: dict) -> str:
    return finding.get("headline") or finding_headline(finding)


# --- what changed since last week ---------------------------------------------------------------

def history_path(ws: Workspace, account: str) -> Path:
    return ws.history_path(account)


def snapshot(insights: dict) -> dict:
    return {"generated_at": insights.get("generated_at"),
            "findings": {f["id"]: {"confidence": f["confidence"], "direction": f.get("direction"),
                                   "headline": headline(f)} for f in insights.get("findings", [])}}


def read_history(path: Path) -> list[dict]:
    """The kept runs, oldest first; a missing or unreadable history is an empty one (it is only a cache
    of earlier insights: the next run starts it again)."""
    try:
        runs = read_json(path)
    except (UnreadableJson, OSError):
        return []
    if not isinstance(runs, list):
        return []
    return [r for r in runs if isinstance(r, dict) and parse_utc(r.get("generated_at")) is not None
            and isinstance(r.get("findings"), dict)]


def record_history(ws: Workspace, account: str, insights: dict) -> list[dict]:
    """Add this insights file to the account's history if it is newer than the last entry; the runs."""
    path = history_path(ws, account)
    runs = read_history(path)
    current = parse_utc(insights.get("generated_at"))
    if current is not None and (not runs or parse_utc(runs[-1]["generated_at"]) < current):
        runs = (runs + [snapshot(insights)])[-HISTORY_KEEP:]
        write_json_atomic(path, runs)
    return runs


def earlier_run(runs: list[dict], generated_at) -> dict | None:
    current = parse_utc(generated_at)
    if current is None:
        return None
    earlier = [r for r in runs if parse_utc(r["generated_at"]) < current]
    week_old = [r for r in earlier if parse_utc(r["generated_at"]) <= current - WEEK]
    return (week_old or earlier[:1] or [None])[-1]


@dataclass
class Change:
    kind: str      # new, surer, less_sure, gone
    headline: str
    confidence: str
    was: str | None = None

    @property
    def words(self) -> str:
        if self.kind == "new":
            return "New"
        if self.kind == "gone":
            return "No longer holds"
        was = CONFIDENCE_TAGS.get(self.was or "", self.was)
        return f"{'Surer' if self.kind == 'surer' else 'Less sure'} now (was: {was})"


def changes_since(findings: list[dict], before: dict | None) -> list[Change]:
    """Findings that are new, gone or changed confidence since an earlier run (medium or high ones)."""
    if before is None:
        return []
    old = before["findings"]
    found = []
    for f in sorted(findings, key=finding_rank):
        seen = old.get(f["id"])
        directional = f.get("direction") != "none"
        if seen is None:
            if directional and f["confidence"] != "low":
                found.append(Change("new", headline(f), f["confidence"]))
        elif seen.get("confidence") != f["confidence"] and directional and \
                max(CONFIDENCE_RANK.get(seen.get("confidence"), 0), CONFIDENCE_RANK[f["confidence"]]) >= 1:
            kind = "surer" if CONFIDENCE_RANK[f["confidence"]] > CONFIDENCE_RANK.get(seen.get("confidence"), 0) \
                else "less_sure"
            found.append(Change(kind, headline(f), f["confidence"], seen.get("confidence")))
    now = {f["id"] for f in findings}
    for fid, seen in old.items():
        if fid not in now and seen.get("confidence") in ("medium", "high") and seen.get("direction") != "none":
            found.append(Change("gone", str(seen.get("headline") or fid), "low", seen.get("confidence")))
    return found[:MAX_CHANGES]


# --- what we changed, and what happened (the analyzer's follow-ups) -----------------------------

STATUS_WORDS = {"waiting": "Waiting", "worked": "Worked", "no_change": "No change", "hurt": "Hurt"}


def lever_words(lever) -> str:
    if not isinstance(lever, dict) or not lever:
        return "the change"
    parts = []
    for key, value in lever.items():
        if isinstance(value, list):
            value = ", ".join(level_words(v) for v in value)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = level_words(value)
        else:
            continue
        parts.append(value if key in ("format", "formats") else f"{key.replace('_', ' ')} {value}")
    return "; ".join(parts) or "the change"


def followup_line(followup: dict) -> str:
    """One follow-up in plain words: 'Worked: step-by-step guides (applied 2 Nov), about 1.6× the views
    after 7 days over 14 posts since'."""
    status = followup.get("status")
    what = lever_words(followup.get("lever"))
    applied = parse_utc(followup.get("applied_at"))
    when = f" (applied {applied.day} {applied:%b})" if applied else ""
    metric = label(followup.get("metric") or "views_d7")
    after = followup.get("posts_after")
    after = after if isinstance(after, int) and not isinstance(after, bool) else None
    effect = followup.get("effect")
    effect = effect if isinstance(effect, (int, float)) and not isinstance(effect, bool) and effect > 0 else None
    head = f"{STATUS_WORDS.get(status, str(status or 'Unknown').replace('_', ' ').capitalize())}: {what}{when}"
    if status == "waiting":
        needed = followup.get("posts_needed")
        more = f"{needed} more posts needed" if isinstance(needed, int) and not isinstance(needed, bool) \
            else "more posts needed"
        return f"{head}, {more}" + (f" ({after} so far)" if after is not None else "")
    if effect is not None:
        words = ratio_words(effect)
        joint = "than" if words.endswith("fewer") else "as" if words == "about the same" else "of"
        since = f" ({after} posts since)" if after is not None else ""
        return f"{head}: {words} {metric} {joint} the posts before{since}"
    return head + (f", {after} posts since" if after is not None else "")


def followups(insights: dict | None) -> list[dict] | None:
    """The follow-ups of an insights file, or None when the analyzer does not write them (yet)."""
    if not isinstance(insights, dict) or "followups" not in insights:
        return None
    items = insights["followups"]
    return [f for f in items if isinstance(f, dict)] if isinstance(items, list) else []


# --- cross-account findings, account by account -------------------------------------------------

MAX_CROSS_ROWS = 14


def cross_cells(cross: list[dict], row_label) -> list[dict]:
    """The cross-account findings that name a ratio per account, as cells: each account's own ratio and
    n from the finding's details (the statistic the finding states), and its pooled effect under
    'all accounts'. row_label(finding) names the row."""
    rows = []
    chosen = [f for f in sorted(cross, key=finding_rank)
              if isinstance((f.get("details") or {}).get("per_account"), dict)][:MAX_CROSS_ROWS]
    for f in chosen:
        name = row_label(f)
        for account, cell in sorted(f["details"]["per_account"].items()):
            cell = cell if isinstance(cell, dict) else {}
            ratio, n = cell.get("ratio"), cell.get("n")
            if _positive(ratio) and isinstance(n, int) and not isinstance(n, bool):
                rows.append({"label": name, "account": account, "ratio": float(ratio), "n": n,
                             "cell": f"{ratio:.2g}×\nn={n}"})
        if f.get("effect_kind") != "ratio_spread" and _positive(f.get("effect")):
            groups = [g for g in f.get("groups") or [] if isinstance(g, dict) and isinstance(g.get("n"), int)]
            n = groups[0]["n"] if groups else 0
            rows.append({"label": name, "account": "all accounts", "ratio": float(f["effect"]), "n": n,
                         "cell": f"{f['effect']:.2g}×\nn={n}"})
    return rows


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
