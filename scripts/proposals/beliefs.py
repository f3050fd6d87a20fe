"""make beliefs: the analyzer's format and pillar beliefs into each performance_context.json.

A step of its own, run by make weekly after analyze (docs/followups.md): the beliefs are the
analyzer's current estimate, not a change a person approves, so they are refreshed every week
whether or not anything was approved, while apply stays the one writer of approved changes. It
writes only format_beliefs, pillar_beliefs, exploration_floor, beliefs_metric, beliefs_version and
beliefs_updated_at (no recommendation may touch them: they belong to no category), under the same
rules as apply: the whole result is checked against the account's context schema, written
atomically, under the pipeline lock. An account without a beliefs section in its insights file, or
whose beliefs did not change (same version), is left as it is. A broken context or insights file is
one line for its account; the others go on.
"""
from __future__ import annotations

from datetime import datetime

from scripts.core.config import load_accounts
from scripts.core.files import UnreadableJson, WriteFailed, read_json, write_json_atomic
from scripts.core.problems import Problems
from scripts.core.timeutil import to_iso
from scripts.core.workspace import Workspace
from scripts.proposals.recfiles import RecError, context_error, context_or_default

BELIEF_FIELDS = ("format_beliefs", "pillar_beliefs", "exploration_floor", "beliefs_metric", "beliefs_version",
                 "beliefs_updated_at")


def with_beliefs(context: dict, beliefs: dict, config, now: datetime) -> dict:
    """The context with the insights file's beliefs (only the config's formats and pillars)."""
    formats = {k: v for k, v in (beliefs.get("formats") or {}).items() if k in config.formats}
    pillars = {k: v for k, v in (beliefs.get("pillars") or {}).items() if k in config.content_pillars}
    updated = {key: value for key, value in context.items() if key not in BELIEF_FIELDS}
    updated.update(format_beliefs={k: {f: v[f] for f in ("mean", "sd", "posts")} for k, v in formats.items()},
                   exploration_floor=beliefs["exploration_floor"],
                   beliefs_metric=f"{beliefs['platform']} {beliefs['metric']}",
                   beliefs_version=beliefs["version"], beliefs_updated_at=to_iso(now))
    if pillars:
        updated["pillar_beliefs"] = {k: {f: v[f] for f in ("mean", "sd", "posts")} for k, v in pillars.items()}
    return updated


def beliefs_workspace(ws: Workspace, now: datetime) -> Problems:
    problems = Problems("beliefs")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    written = 0
    for account, config in configs.items():
        path = ws.insights_path(account)
        if not path.exists():
            print(f"beliefs: {account}: no {path.relative_to(ws.root)} yet (run make analyze)")
            continue
        try:
            insights = read_json(path)
            beliefs = insights.get("beliefs") if isinstance(insights, dict) else None
            if not beliefs:
                continue
            context = context_or_default(ws, account, config)
            if context.get("beliefs_version") == beliefs.get("version"):
                continue
            updated = with_beliefs(context, beliefs, config, now)
        except UnreadableJson as exc:
            problems.add(f"{path}: {exc}; beliefs not updated")
            continue
        except RecError as exc:
            problems.add(f"{exc}; beliefs not updated")
            continue
        except (KeyError, TypeError, AttributeError) as exc:
            problems.add(f"{path}: beliefs section unusable ({type(exc).__name__}: {exc}); beliefs not updated")
            continue
        problem = context_error(updated, config, base=context)
        if problem:
            problems.add(f"{ws.context_path(account)}: beliefs would break the schema at {problem}; not written")
            continue
        try:
            write_json_atomic(ws.context_path(account), updated)
        except WriteFailed as exc:
            problems.add(str(exc))
            continue
        written += 1
    print(f"beliefs: updated {written} performance_context.json file(s)")
    return problems
