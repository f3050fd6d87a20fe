"""make apply: every approved recommendation into its account's performance_context.json.

For each file in recommendations/approved/ (oldest name first): validate it, apply its patch with
jsonpatch to the current context (the default one built from config.yml on the first apply),
update last_updated, sample_size and approved_recommendations, check the result against
schemas/performance_context.schema.json, write the context atomically, then move the file to
recommendations/applied/ (`git mv` when git tracks it). A stale patch (a `test` op fails) or a
result that breaks the schema is reported naming the file; nothing is written and the file stays
in approved/, while the other files still apply. The DB's recommendations table mirrors every
file's state afterwards, rejected/ included.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime


from scripts.core.config import AccountConfig, load_accounts
from scripts.core.db import open_db
from scripts.core.files import WriteFailed, read_json, write_json_atomic
from scripts.core.problems import Problems
from scripts.proposals.recfiles import (APPLY_FIELDS, RecError, RecFile, apply_patch, context_error,
                                     context_or_default, move, read_states, sync_db)
from scripts.core.timeutil import to_iso
from scripts.core.workspace import Workspace


def sample_size(ws: Workspace, account: str) -> int | None:
    """Posts the analyzer considered for the findings behind this week's proposals."""
    try:
        return int(read_json(ws.insights_path(account))["sample_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def applied(context: dict, rec: RecFile, config: AccountConfig, now: datetime, posts: int | None) -> dict:
    """The context after one recommendation, or RecError saying why it cannot be applied."""
    data = rec.data
    for op in data["patch"]:
        if op["path"].split("/")[1] in APPLY_FIELDS:
            raise RecError(f"the patch may not change {op['path']} (apply maintains it)")
    if any(entry.get("id") == data["id"] for entry in context.get("approved_recommendations") or []):
        raise RecError("already applied to the context")
    patched = apply_patch(context, data["patch"])
    day = now.date().isoformat()
    patched["last_updated"] = day
    if posts is not None:
        patched["sample_size"] = posts
    patched["approved_recommendations"] = list(patched.get("approved_recommendations") or []) + [
        {"id": data["id"], "category": data["category"], "insight": data["insight"], "approved_at": day}]
    problem = context_error(patched, config, base=context)
    if problem:
        raise RecError(f"the patched context would break the schema at {problem}")
    return patched


def apply_one(ws: Workspace, rec: RecFile, configs: dict, contexts: dict, now: datetime) -> None:
    account = rec.account
    if account not in configs:
        raise RecError(f"no valid {ws.config_path(account).relative_to(ws.root)} for account {account}")
    if (ws.rec_dir("applied") / rec.path.name).exists():
        raise RecError("a file of the same name is already in applied/")
    if account not in contexts:
        contexts[account] = context_or_default(ws, account, configs[account])
    patched = applied(contexts[account], rec, configs[account], now, sample_size(ws, account))
    write_json_atomic(ws.context_path(account), patched)
    contexts[account] = patched
    move(ws, rec, "applied")


def apply_workspace(ws: Workspace, now: datetime) -> Problems:
    problems = Problems("apply")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    approved, bad_files = read_states(ws, ("approved",))
    for line in bad_files:
        problems.add(f"{line}; left in approved/")
    contexts: dict[str, dict] = {}
    approved_at: dict[str, str] = {}
    for rec in sorted(approved, key=lambda r: r.path.name):
        rel = rec.path.relative_to(ws.root)
        try:
            apply_one(ws, rec, configs, contexts, now)
        except RecError as exc:
            problems.add(f"{rel}: {exc}; nothing written, the file stays in approved/")
            continue
        except WriteFailed as exc:  # disk full: the old context is intact, the file applies next run
            problems.add(f"{exc}; {rel} stays in approved/")
            continue
        approved_at[rec.data["id"]] = to_iso(now)
        print(f"apply: {rec.data['id']}: applied to {ws.context_path(rec.account).relative_to(ws.root)}")
    everything, _ = read_states(ws)
    try:
        sync_db(open_db(ws.db_path), ws, everything, approved_at)
    except sqlite3.Error as exc:  # the files are the truth; the table mirrors them on the next run
        problems.add(f"{ws.db_path}: cannot record the recommendation states ({exc})")
    print(f"apply: {len(approved_at)} applied, {len(approved) - len(approved_at) + len(bad_files)} left in approved/")
    return problems
