"""Recommendation files and performance_context.json: the facts recommend, apply and review share.

The ten categories, the file name, both JSON Schemas, the default context, reading the state
folders, moving a file between them (git mv inside a git work tree) and the DB mirror.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jsonpatch

from scripts.store.classify import HOOK_STYLES
from scripts.core.config import AccountConfig
from scripts.core.files import UnreadableJson, read_json
from scripts.core.schemas import Checker, schema_problem
from scripts.core.timeutil import parse_utc
from scripts.core.workspace import REC_STATES, SCHEMA_DIR, Workspace, check_account_name
from scripts.proposals.generator_context import CONTEXT_SCHEMA, context_problem, first_nonfinite


CATEGORIES = ("format_weight", "hook_style", "topic_priority", "pillar_rebalance", "format_experiment",
              "failure_pattern", "80_20_insight", "save_vs_share", "slide_count", "cta_strategy", "revert")
# proposed only by a follow-up (scripts/proposals/reverts.py), never by the rules or Claude
REVERT = "revert"

# The context fields a recommendation of each category may change. Claude's patches are held to
# this as well, so a "hook_style" proposal can never quietly move the format weights.
CATEGORY_FIELDS = {
    "format_weight": {"format_weights"},
    "hook_style": {"hook_insights"},
    "topic_priority": {"top_pillars", "underperforming_pillars"},
    "pillar_rebalance": {"top_pillars", "underperforming_pillars"},
    "format_experiment": {"experiment_suggestions", "format_weights"},
    "failure_pattern": {"hook_insights", "underperforming_pillars", "top_pillars", "format_weights",
                        "optimal_slide_count", "experiment_suggestions"},
    "80_20_insight": {"top_pillars", "format_weights", "posting_windows"},
    "save_vs_share": {"save_vs_share"},
    "slide_count": {"optimal_slide_count"},
    "cta_strategy": {"experiment_suggestions"},
}
# a revert restores what an applied change replaced: any field some category may change
CATEGORY_FIELDS[REVERT] = set().union(*CATEGORY_FIELDS.values())
# apply alone writes these: no recommendation may touch them
APPLY_FIELDS = ("approved_recommendations", "last_updated", "sample_size")
# the RFC 6902 ops that change the document (test is the one that only looks)
CHANGING_OPS = ("add", "remove", "replace", "move", "copy")

REC_SCHEMA = json.loads((SCHEMA_DIR / "recommendation.schema.json").read_text())
_rec_validator = Checker(REC_SCHEMA)
FILE_NAME = re.compile(r"^(?P<account>.+)--(?P<date>\d{4}-\d{2}-\d{2})--(?P<category>"
                       + "|".join(CATEGORIES) + r")(?:--(?P<n>[0-9]+))?\.json$")


class RecError(ValueError):
    """A recommendation file or patch that cannot be used; one line, the caller adds the file."""


# --- performance_context.json -----------------------------------------------------------------

def default_context(config: AccountConfig) -> dict:
    """The context before any approval: every format weighted 1.0, nothing learned yet."""
    return {
        "format_weights": {fmt: 1.0 for fmt in config.formats},
        "top_pillars": [],
        "underperforming_pillars": [],
        "optimal_slide_count": None,
        "posting_windows": [],
        "hook_insights": {"best_styles": [], "worst_styles": [], "reference_hooks": []},
        "save_vs_share": {"high_save_formats": [], "high_share_formats": []},
        "experiment_suggestions": [],
        "approved_recommendations": [],
        "last_updated": None,
        "sample_size": 0,
    }


def context_or_default(ws: Workspace, account: str, config: AccountConfig) -> dict:
    """The account's context, or the default one if apply has not created it yet; RecError naming
    the file when it is not a valid context (not JSON, not an object, NaN, outside the schema)."""
    path = ws.context_path(account)
    if not path.exists() and not path.is_symlink():
        return default_context(config)
    try:
        context = read_json(path)
    except UnreadableJson as exc:
        raise RecError(f"{path}: {exc}") from None
    problem = context_error(context, config, base=context)
    if problem:
        raise RecError(f"{path}: {problem} (fix it by hand; apply refuses to build on it)")
    return context


def _names(value) -> set[str]:
    """The names a context field holds (a list's strings, an object's keys), whatever its type."""
    if isinstance(value, dict):
        return set(value)
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def context_schema(config: AccountConfig, base=None) -> dict:
    """The shipped schema narrowed to this account: only its formats, its pillars and the known
    hook styles (plus any name the current context already holds, so old contexts stay valid)."""
    base = base if isinstance(base, dict) else {}
    hooks = base.get("hook_insights") if isinstance(base.get("hook_insights"), dict) else {}
    known = {
        "format_name": set(config.formats) | _names(base.get("format_weights")),
        "pillar_name": (set(config.content_pillars) | _names(base.get("top_pillars"))
                        | _names(base.get("underperforming_pillars"))),
        "hook_style": set(HOOK_STYLES) | _names(hooks.get("best_styles")) | _names(hooks.get("worst_styles")),
    }
    schema = copy.deepcopy(CONTEXT_SCHEMA)
    for name, values in known.items():
        # still a name by the shipped rule: an old context's name stays valid only if it is one
        schema["$defs"][name] = {"$ref": "#/$defs/name", "enum": sorted(values)}
    return schema


def context_error(context, config: AccountConfig, base=None) -> str | None:
    """The first reason the context is not valid for this account, as '<pointer>: <problem>'
    (the generator reader's rule, with the account's names), or None."""
    return context_problem(context, context_schema(config, base))


def resolve(document, path: str):
    """The value at a JSON pointer, or raise RecError."""
    try:
        return jsonpatch.JsonPointer(path).resolve(document)
    except (jsonpatch.JsonPointerException, KeyError, IndexError, TypeError):
        raise RecError(f"{path} does not exist in the context") from None


def apply_patch(context: dict, patch: list[dict]) -> dict:
    """The patched copy; RecError naming the failed test or the bad operation."""
    try:
        return jsonpatch.apply_patch(context, patch, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise RecError(f"stale patch: {exc} (the context changed since it was proposed)") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise RecError(f"patch does not apply: {exc}") from None


def with_tests(context: dict, ops: list[dict]) -> list[dict]:
    """Prefix the changing ops with `test` ops on the current value of what each one changes,
    so the patch fails instead of clobbering once the context has moved on."""
    tests, tested = [], set()
    for op in ops:
        target = tested_path(context, op)
        if target not in tested:
            tested.add(target)
            tests.append({"op": "test", "path": target, "value": copy.deepcopy(resolve(context, target))})
    return tests + ops


def changed_paths(op: dict) -> list[str]:
    """The paths an op changes: its target, and for a move the source it empties too."""
    if op.get("op") not in CHANGING_OPS:
        return []
    return [str(op.get("path"))] + ([str(op.get("from"))] if op["op"] == "move" else [])


def _top_field(path: str) -> str:
    return path.split("/")[1] if path.startswith("/") else path


def maintained_field_problem(category: str, patch: list[dict]) -> str | None:
    """Why the patch changes a field apply alone writes (APPLY_FIELDS), or None."""
    for op in patch:
        for path in changed_paths(op):
            if _top_field(path) in APPLY_FIELDS:
                return f"a {category} recommendation may not change /{_top_field(path)} (apply maintains it)"
    return None


def outside_fields_problem(category: str, patch: list[dict]) -> str | None:
    """Why the patch changes a field its category may not (CATEGORY_FIELDS, never one apply
    maintains), or None."""
    allowed = CATEGORY_FIELDS.get(category, set())
    outside = next((path for op in patch for path in changed_paths(op) if _top_field(path) not in allowed), None)
    if outside is None:
        return None
    return maintained_field_problem(category, patch) or f"a {category} recommendation may not change /{_top_field(outside)}"


def untested_problem(patch: list[dict]) -> str | None:
    """Why a changed path has no `test` op before it (on the path itself or a parent), or None:
    without one a patch written against an old context would clobber it instead of failing."""
    tested: list[str] = []
    for op in patch:
        if op.get("op") == "test":
            tested.append(str(op.get("path")))
        for path in changed_paths(op):
            if not any(path == t or path.startswith(t + "/") for t in tested):
                return f"{path} is changed without a test op on it (or a parent) before the change"
    return None


def patch_problem(category: str, patch: list[dict]) -> str | None:
    """Why apply may not apply this patch for this category, or None."""
    return outside_fields_problem(category, patch) or untested_problem(patch)


def tested_path(context: dict, op: dict) -> str:
    """What an op changes: the value itself, or the list / object it adds to."""
    path = op["path"]
    if op["op"] != "add":
        return path
    parent = path.rsplit("/", 1)[0] or ""
    try:
        resolve(context, path)
        return path if isinstance(resolve(context, parent), dict) else parent
    except RecError:
        return parent


def change_signature(patch: list[dict]) -> frozenset:
    """What a patch changes, independent of the context it was written against: numbers by
    direction (raise step_guide), lists by what goes in and out (a reorder by its new order).
    Equal signatures = same change."""
    tested = {op["path"]: op.get("value") for op in patch if op.get("op") == "test"}
    parts = []
    for op in patch:
        if op.get("op") == "test":
            continue
        new, old = op.get("value"), tested.get(op["path"])
        if _is_number(new) and _is_number(old):
            parts.append((op["path"], "up" if new > old else "down" if new < old else "same"))
        elif isinstance(new, list) and isinstance(old, list):
            added = sorted(json.dumps(v, sort_keys=True) for v in new if v not in old)
            removed = sorted(json.dumps(v, sort_keys=True) for v in old if v not in new)
            # nothing in or out: a reorder, and two reorders differ by the order they make
            order = () if added or removed else ("order", json.dumps(new, sort_keys=True))
            parts.append((op["path"], "+" + ",".join(added), "-" + ",".join(removed), *order))
        else:
            parts.append((op["op"], op["path"], json.dumps(new, sort_keys=True)))
    return frozenset(parts)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe_patch(patch: list[dict]) -> list[str]:
    """Each change in words, 'format_weights/step_guide: 1.0 -> 1.4', for review and reports."""
    tested = {op["path"]: op.get("value") for op in patch if op["op"] == "test"}
    lines = []
    for op in patch:
        if op["op"] == "test":
            continue
        where = op["path"].lstrip("/")
        old = tested.get(op["path"])
        if op["op"] == "remove":
            lines.append(f"remove {where}")
        elif isinstance(op.get("value"), list) and isinstance(old, list):
            added = [v for v in op["value"] if v not in old]
            removed = [v for v in old if v not in op["value"]]
            words = [f"add {', '.join(map(str, added))}" if added else "",
                     f"drop {', '.join(map(str, removed))}" if removed else ""]
            lines.append(f"{where}: {'; '.join(w for w in words if w) or 'reorder'}")
        elif op["op"] == "replace" and op["path"] in tested:
            lines.append(f"{where}: {json.dumps(old)} -> {json.dumps(op['value'])}")
        else:
            lines.append(f"{where}: {op['op']} {json.dumps(op.get('value'), ensure_ascii=False)}")
    return lines


def describe_rec(data: dict) -> list[str]:
    """Each change a recommendation makes in words; a cross-account file's prefixed by its account."""
    if "patches" not in data:
        return describe_patch(data["patch"])
    return [f"{account}: {line}" for account, patch in data["patches"].items() for line in describe_patch(patch)]


# --- recommendation files ---------------------------------------------------------------------

@dataclass
class RecFile:
    path: Path
    state: str
    data: dict

    @property
    def account(self) -> str:
        return self.data["account"]

    @property
    def patches(self) -> dict[str, list[dict]]:
        """Account -> the patch for it: one for an account's file, one per account for a
        cross-account file (account "all")."""
        return rec_patches(self.data)


def rec_patches(data: dict) -> dict[str, list[dict]]:
    return dict(data["patches"]) if "patches" in data else {data["account"]: data["patch"]}


def file_stem(account: str, day: str, category: str, taken: set[str]) -> str:
    """`<account>--<YYYY-MM-DD>--<category>[--n]`, the first one no state folder holds yet."""
    stem = f"{check_account_name(account, allow_all=True)}--{day}--{category}"
    n = 1
    while (stem if n == 1 else f"{stem}--{n}") in taken:
        n += 1
    return stem if n == 1 else f"{stem}--{n}"


def validate_rec(data, path: Path) -> dict:
    """Schema, then the name: the file name, id, account and category must agree, and its date and
    created_at must be real (the schema's patterns let 2026-13-45 through)."""
    problem = schema_problem(_rec_validator, data)
    if problem:
        raise RecError(problem)
    where = first_nonfinite(data)
    if where is not None:
        raise RecError(f"{where.lstrip('/')}: not a finite number (NaN and Infinity are not JSON)")
    match = FILE_NAME.match(path.name)
    if not match:
        raise RecError("file name is not <account>--<YYYY-MM-DD>--<category>[--n].json")
    check_account_name(data["account"], allow_all=True)
    if data["id"] != path.stem:
        raise RecError(f"id {data['id']!r} does not match the file name")
    if (match["account"], match["category"]) != (data["account"], data["category"]):
        raise RecError("account or category in the file differs from its file name")
    try:
        date.fromisoformat(match["date"])
    except ValueError:
        raise RecError(f"the date {match['date']} in the file name is not a real date") from None
    if parse_utc(data["created_at"]) is None:
        raise RecError(f"created_at: {data['created_at']!r} is not a real time")
    return data


def read_rec(path: Path, state: str) -> RecFile:
    try:
        data = read_json(path)
    except UnreadableJson as exc:
        raise RecError(str(exc)) from None
    return RecFile(path, state, validate_rec(data, path))


def read_states(ws: Workspace, states=REC_STATES) -> tuple[list[RecFile], list[str]]:
    """Every readable recommendation in the given state folders, plus one line per bad file."""
    recs, problems = [], []
    for state in states:
        for path in sorted(ws.rec_dir(state).glob("*.json")):
            try:
                recs.append(read_rec(path, state))
            except (ValueError, OSError) as exc:  # one bad file never stops the rest
                problems.append(f"{path.relative_to(ws.root)}: {exc}")
    return recs, problems


def in_git_work_tree(folder: Path) -> bool:
    result = subprocess.run(["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "true"


def is_tracked(path: Path) -> bool:
    result = subprocess.run(["git", "-C", str(path.parent), "ls-files", "--error-unmatch", path.name],
                            capture_output=True, text=True)
    return result.returncode == 0


def move(ws: Workspace, rec: RecFile, state: str) -> Path:
    """Move a file to another state folder: `git mv` when git tracks it (the history shows who
    approved what), a plain rename otherwise."""
    target_dir = ws.rec_dir(state)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / rec.path.name
    if target.exists():
        raise RecError(f"{target.relative_to(ws.root)} already exists")
    if in_git_work_tree(rec.path.parent) and is_tracked(rec.path):
        result = subprocess.run(["git", "-C", str(rec.path.parent), "mv", rec.path.name, str(target.resolve())],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RecError(f"git mv failed: {result.stderr.strip()}")
    else:
        shutil.move(str(rec.path), target)
    rec.path, rec.state = target, state
    return target


# --- the DB mirror ----------------------------------------------------------------------------

def sync_db(db, ws: Workspace, recs: list[RecFile], approved_at: dict[str, str] | None = None) -> None:
    """Mirror each file's state into the recommendations table (one row per id)."""
    approved_at = approved_at or {}
    rows = [{
        "id": rec.data["id"], "account_name": rec.account, "created_at": rec.data["created_at"],
        "status": rec.state, "category": rec.data["category"], "insight": rec.data["insight"],
        "proposed_change": json.dumps(rec.data.get("patch", rec.data.get("patches")), ensure_ascii=False),
        "confidence": rec.data["confidence"], "source": rec.data["source"],
        "finding_id": rec.data["evidence"]["finding"], "file": str(rec.path.relative_to(ws.root)),
        "approved_at": approved_at.get(rec.data["id"]),
    } for rec in recs]
    if not rows:
        return
    with db.conn:
        db.conn.executemany("""
            INSERT INTO recommendations (id, account_name, created_at, status, category, insight,
                proposed_change, confidence, source, finding_id, file, approved_at)
            VALUES (:id, :account_name, :created_at, :status, :category, :insight, :proposed_change,
                    :confidence, :source, :finding_id, :file, :approved_at)
            ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, file = excluded.file, insight = excluded.insight,
                proposed_change = excluded.proposed_change, confidence = excluded.confidence,
                approved_at = coalesce(excluded.approved_at, approved_at)
        """, rows)
