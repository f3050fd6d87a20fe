"""make apply: every approved recommendation into its account's performance_context.json.

For each file in recommendations/approved/ (oldest name first): validate it, check that its patch
changes only its category's fields and tests every path before changing it, apply it with
jsonpatch to the current context (the default one built from config.yml on the first apply),
update last_updated, sample_size and approved_recommendations, check the whole result (finite
numbers, schemas/performance_context.schema.json narrowed to the account), write the context
atomically, then move the file to recommendations/applied/ (`git mv` when git tracks it). A file
that cannot be applied (stale, outside its fields, untested, or a result that breaks the schema)
is one line naming it; nothing is written and the file stays in approved/, while the other files
still apply. A file whose change is already in the context (a run killed between writing the
context and moving the file) is moved on with a note. The DB's recommendations table mirrors
every file's state afterwards, rejected/ included.

A cross-account file (`all--…`, one patch per account under `patches`) is approved once and
applied all or none: every account's patch is checked against its context first, and nothing is
written unless all of them apply; then each context is written atomically. A run killed between
two of those writes leaves the file in approved/, and the next run applies only the accounts whose
context does not hold it yet.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime


from scripts.core.config import AccountConfig, load_accounts
from scripts.core.db import open_db
from scripts.core.files import WriteFailed, read_json, write_json_atomic
from scripts.core.problems import Problems
from scripts.proposals.recfiles import (RecError, RecFile, apply_patch, context_error, context_or_default,
                                        in_git_work_tree, is_tracked, maintained_field_problem, move, patch_problem,
                                        read_states, sync_db)
from scripts.core.timeutil import to_iso
from scripts.core.workspace import Workspace


def sample_size(ws: Workspace, account: str) -> int | None:
    """Posts the analyzer considered for the findings behind this week's proposals (None when the
    insights file holds no usable count: the context keeps its old one)."""
    try:
        posts = read_json(ws.insights_path(account))["sample_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return posts if isinstance(posts, int) and not isinstance(posts, bool) and posts >= 0 else None


def applied(context: dict, rec: RecFile, account: str, config: AccountConfig, now: datetime,
            posts: int | None) -> dict:
    """The account's context after one recommendation, or RecError saying why it cannot be applied:
    a field apply maintains, a stale or broken patch, a result that breaks the schema (NaN
    included), a field outside the category, or a change without a test op before it."""
    data, patch = rec.data, rec.patches[account]
    problem = maintained_field_problem(data["category"], patch)
    if problem:
        raise RecError(problem)
    patched = apply_patch(context, patch)
    day = now.date().isoformat()
    patched["last_updated"] = day
    if posts is not None:
        patched["sample_size"] = posts
    patched["approved_recommendations"] = list(patched.get("approved_recommendations") or []) + [
        {"id": data["id"], "category": data["category"], "insight": data["insight"], "approved_at": day}]
    problem = context_error(patched, config, base=context)
    if problem:
        raise RecError(f"the patched context would break the schema at {problem}")
    problem = patch_problem(data["category"], patch)
    if problem:
        raise RecError(problem)
    return patched


def already_in(context: dict, rec: RecFile, account: str | None = None) -> bool:
    """Whether the file's change is already in the context: its id is among the approved ones, or
    its changes (the ops after its tests) would change nothing. A run killed between writing the
    context and moving the file leaves exactly that; the next run finishes the move."""
    if any(entry.get("id") == rec.data["id"] for entry in context.get("approved_recommendations") or []):
        return True
    changes = [op for op in rec.patches[account or rec.account] if op["op"] != "test"]
    try:
        result = apply_patch(context, changes)
    except RecError:  # the changes do not even apply: certainly not in the context yet
        return False
    return _json(result) == _json(context)  # as JSON: in Python True == 1.0, in the context not


def _json(value) -> str:
    return json.dumps(value, sort_keys=True)


def apply_one(ws: Workspace, rec: RecFile, configs: dict, contexts: dict, now: datetime) -> list[str]:
    """Apply one file to every account it names and move it to applied/; the accounts whose context
    changed (none when the change was already in every context: the file is moved on). RecError or
    WriteFailed when it cannot apply; then nothing is written."""
    for account in rec.patches:
        if account not in configs:
            raise RecError(f"no valid {ws.config_path(account).relative_to(ws.root)} for account {account}")
    if (ws.rec_dir("applied") / rec.path.name).exists():
        raise RecError("a file of the same name is already in applied/")
    patched = {}
    for account, patch in rec.patches.items():
        where = f"{account}: " if rec.account != account else ""
        try:
            if already_in(contexts[account], rec, account):
                problem = patch_problem(rec.data["category"], patch)
                if problem:  # held to the rules even when it would change nothing
                    raise RecError(problem)
                continue
            patched[account] = applied(contexts[account], rec, account, configs[account], now,
                                       sample_size(ws, account))
        except RecError as exc:
            raise RecError(f"{where}{exc}") from None
    for account, context in patched.items():  # every patch applies: now write them
        write_json_atomic(ws.context_path(account), context)
        contexts[account] = context
    if patched:
        record_applied(ws, rec, now)
    stamp_applied(rec, now)
    move(ws, rec, "applied")
    return sorted(patched)


def stamp_applied(rec: RecFile, now: datetime) -> None:
    """The file keeps when it was applied (`applied_at`): its follow-up counts the posts generated
    from then on (docs/followups.md). Written atomically before the move; a run killed in between
    leaves a file whose change is already in the context, which the next run moves on."""
    if "applied_at" not in rec.data:
        rec.data = {**rec.data, "applied_at": to_iso(now)}
        write_json_atomic(rec.path, rec.data)
        if in_git_work_tree(rec.path.parent) and is_tracked(rec.path):  # git mv then moves what is staged
            subprocess.run(["git", "-C", str(rec.path.parent), "add", rec.path.name], capture_output=True)


def record_applied(ws: Workspace, rec: RecFile, now: datetime) -> None:
    """The DB row says applied, with when, before the file moves: a run killed after the move
    would otherwise leave no trace of when it was applied (the end-of-run sync would never come).
    Killed before the move, the next run moves the file on and records it again."""
    moved = RecFile(ws.rec_dir("applied") / rec.path.name, "applied", rec.data)
    try:
        sync_db(open_db(ws.db_path), ws, [moved], {rec.data["id"]: to_iso(now)})
    except sqlite3.Error:  # the files are the truth; the end of this run, or the next, syncs the table
        pass


def read_contexts(ws: Workspace, recs: list[RecFile], configs: dict, problems: Problems) -> dict[str, dict]:
    """The current context of every account with an approved file; a broken one is one line for
    the account (its files stay in approved/), not one per file."""
    contexts = {}
    for account in sorted({account for rec in recs for account in rec.patches} & configs.keys()):
        try:
            contexts[account] = context_or_default(ws, account, configs[account])
        except RecError as exc:
            problems.add(f"{exc}; {account}'s approved files stay in approved/")
    return contexts


def apply_workspace(ws: Workspace, now: datetime) -> Problems:
    problems = Problems("apply")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    approved, bad_files = read_states(ws, ("approved",))
    for line in bad_files:
        problems.add(f"{line}; left in approved/")
    contexts = read_contexts(ws, approved, configs, problems)
    # accounts whose config or context is broken: said once above, their files wait in approved/
    waiting = set(ws.account_folders()) - set(contexts)
    approved_at: dict[str, str] = {}
    for rec in sorted(approved, key=lambda r: r.path.name):
        rel = rec.path.relative_to(ws.root)
        if waiting & set(rec.patches):
            continue
        try:
            changed = apply_one(ws, rec, configs, contexts, now)
        except RecError as exc:
            problems.add(f"{rel}: {exc}; nothing written, the file stays in approved/")
            continue
        except WriteFailed as exc:  # disk full: the old context is intact, the file applies next run
            problems.add(f"{exc}; {rel} stays in approved/")
            continue
        approved_at[rec.data["id"]] = to_iso(now)
        contexts_changed = ", ".join(str(ws.context_path(a).relative_to(ws.root)) for a in changed)
        print(f"apply: {rec.data['id']}: applied to {contexts_changed}" if changed else
              f"apply: note: {rec.data['id']}: its change is already in {'the contexts' if len(rec.patches) > 1 else ws.context_path(rec.account).relative_to(ws.root)} "
              f"(an earlier run stopped before moving the file); moved to {ws.rec_dir('applied').relative_to(ws.root)}/")
    everything, _ = read_states(ws)
    try:
        sync_db(open_db(ws.db_path), ws, everything, approved_at)
    except sqlite3.Error as exc:  # the files are the truth; the table mirrors them on the next run
        problems.add(f"{ws.db_path}: cannot record the recommendation states ({exc})")
    print(f"apply: {len(approved_at)} applied, {len(approved) - len(approved_at) + len(bad_files)} left in approved/")
    if not approved and not bad_files:
        print("apply: nothing approved yet: approve a proposal with make approve ID=<id> (make review or "
              "make report list them), then run make apply")
    return problems
