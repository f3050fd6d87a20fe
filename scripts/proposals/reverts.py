"""Revert proposals: a follow-up that says an applied change hurt (or, after enough posts, did
nothing) becomes a normal pending file of category `revert` (docs/followups.md).

Its patch undoes the change on the *current* context: a number or object goes back to the value
the applied file's `test` ops saw, a list loses the items the change added and gets back those it
removed (so later changes to the same list are kept), each with a `test` op on the current value.
It is proposed once: no revert of the same applied id may already be pending, approved, applied or
rejected (a rejected revert means "keep the change"). A revert is never itself reverted, and one
whose values a waiting proposal will change waits a week (the two would make each other stale).
Its confidence is the follow-up's (at most medium).
"""
from __future__ import annotations

import copy

from scripts.core.files import WriteFailed, read_json, write_json_atomic
from scripts.core.findings import cap_confidence
from scripts.core.timeutil import to_iso
from scripts.proposals.recfiles import (REVERT, RecError, RecFile, apply_patch, changed_paths, context_error,
                                        file_stem, resolve, validate_rec, with_tests)

REVERT_STATUSES = ("hurt", "no_change")
FINDING_PREFIX = "followups/"


def _old(tests: dict, path: str):
    """(found, value): what the applied patch's tests saw at path (on it or a parent)."""
    for tested, value in tests.items():
        if path == tested:
            return True, value
        if path.startswith(tested + "/"):
            try:
                return True, resolve(value, path[len(tested):])
            except RecError:
                return False, None
    return False, None


def undo_ops(applied_ops: list[dict], context: dict) -> list[dict]:
    """The changing ops that undo an applied patch on today's context (no test ops yet)."""
    tests = {op["path"]: op.get("value") for op in applied_ops if op.get("op") == "test"}
    ops, seen = [], set()
    for op in applied_ops:
        for path in changed_paths(op):
            if path in seen:
                continue
            seen.add(path)
            found, old = _old(tests, path)
            try:
                current = resolve(context, path)
            except RecError:
                current = None
            if not found:  # the patch added something that was not there: take it out again
                if current is not None:
                    ops.append({"op": "remove", "path": path})
                continue
            if isinstance(old, list) and isinstance(current, list) and isinstance(op.get("value"), list):
                added = [v for v in op["value"] if v not in old]
                removed = [v for v in old if v not in op["value"]]
                restored = [v for v in current if v not in added] + [v for v in removed if v not in current]
                if restored != current:
                    ops.append({"op": "replace", "path": path, "value": restored})
            elif current is None:
                ops.append({"op": "add", "path": path, "value": copy.deepcopy(old)})
            elif current != old:
                ops.append({"op": "replace", "path": path, "value": copy.deepcopy(old)})
    return ops


def patch_for(rec: RecFile, account: str) -> list[dict] | None:
    """The ops a file applies to one account: its `patch`, or its `patches[account]` (an all-- file)."""
    patches = rec.data.get("patches")
    if isinstance(patches, dict):
        return patches.get(account)
    return rec.data.get("patch") if rec.data.get("account") == account else None


def already_proposed(existing: list[RecFile], rec_id: str, account: str) -> bool:
    """A revert of this id for this account in any state (an all-- change is reverted per account)."""
    return any(r.data.get("category") == REVERT and r.data.get("reverts") == rec_id and r.account == account
               for r in existing)


def revert_proposals(ws, account: str, config, context: dict, existing: list[RecFile], busy: set[str], now,
                     taken: set[str]) -> tuple[list[RecFile], list[str]]:
    """Write the account's revert proposals into pending/; (written files, problem lines)."""
    try:
        insights = read_json(ws.insights_path(account))
    except (OSError, ValueError):
        return [], []  # recommend has said so already
    followups = insights.get("followups") if isinstance(insights, dict) else None
    applied = {r.data["id"]: r for r in existing if r.state == "applied" and patch_for(r, account)}
    written, problems = [], []
    for followup in followups if isinstance(followups, list) else []:
        rec = applied.get(followup.get("recommendation")) if isinstance(followup, dict) else None
        if rec is None or followup.get("status") not in REVERT_STATUSES or rec.data["category"] == REVERT \
                or followup.get("reverted_by") or already_proposed(existing + written, rec.data["id"], account):
            continue
        ops = undo_ops(patch_for(rec, account), context)
        if not ops:
            continue
        patch = with_tests(context, ops)
        if any(op["path"] in busy for op in patch if op["op"] == "test"):
            continue
        try:
            result = apply_patch(context, patch)
            problem = context_error(result, config, base=context)
            if problem:
                raise RecError(f"the reverted context would break the schema at {problem}")
            stem = file_stem(account, now.date().isoformat(), REVERT, taken)
            data = {"id": stem, "account": account, "created_at": to_iso(now), "category": REVERT,
                    "confidence": cap_confidence(str(followup.get("confidence")), "medium"), "source": "followup",
                    "insight": f"Undo {rec.data['id']}: {followup.get('claim', '')}"[:1000],
                    "evidence": {"finding": f"{FINDING_PREFIX}{rec.data['id']}",
                                 "n": followup.get("posts_after"), "effect": followup.get("effect"),
                                 "ci": followup.get("ci")},
                    "reverts": rec.data["id"], "patch": patch}
            path = ws.rec_dir("pending") / f"{stem}.json"
            validate_rec(data, path)
            write_json_atomic(path, data)
        except (RecError, WriteFailed) as exc:
            problems.append(f"{account}: revert of {rec.data['id']} not written ({exc})")
            continue
        taken.add(stem)
        busy |= {op["path"] for op in patch if op["op"] == "test"}
        written.append(RecFile(path, "pending", data))
    return written, problems


def reverted_changes(existing: list[RecFile], account: str) -> list[list[dict]]:
    """The patches of the account's changes that a revert undid or will undo (pending, approved or
    applied): the rules must not propose them again."""
    targets = {r.data.get("reverts") for r in existing if r.account == account and r.data.get("category") == REVERT
               and r.state in ("pending", "approved", "applied")}
    return [patch_for(r, account) for r in existing if r.data["id"] in targets and patch_for(r, account)]
