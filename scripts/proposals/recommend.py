"""make recommend: 3-5 proposals per account per week into recommendations/pending/.

Each proposal cites an analyzer finding (data/insights/<account>.json), is no surer than that
finding, and carries an RFC 6902 patch against accounts/<account>/performance_context.json that
starts with `test` ops. Nothing already pending or approved, nothing rejected before (same change)
and nothing the context already says is proposed. With ANTHROPIC_API_KEY set Claude chooses and
words the proposals (scripts/proposals/claude.py); its answer is vetted exactly like the rules'.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from scripts.analysis.headlines import proposal_headline
from scripts.proposals import rules as recommend_rules
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.credentials import read_secret
from scripts.core.db import missing_data, open_db
from scripts.core.findings import cap_confidence, finding_rank
from scripts.core.files import UnreadableJson, WriteFailed, read_json, write_json_atomic
from scripts.core.problems import Problems
from scripts.proposals.recfiles import (CATEGORIES, REVERT, RecError, RecFile, apply_patch, change_signature, context_error,
                                        context_or_default, file_stem, outside_fields_problem, read_states, sync_db,
                                        validate_rec, with_tests)
from scripts.core.schemas import INSIGHTS_VALIDATOR, schema_problem
from scripts.proposals.reverts import revert_proposals, reverted_changes
from scripts.core.timeutil import parse_utc, to_iso
from scripts.core.workspace import ALL, Workspace

MIN_PER_ACCOUNT, MAX_PER_ACCOUNT, MAX_PER_CATEGORY = 3, 5, 2


@dataclass
class AccountInputs:
    account: str
    config: AccountConfig
    findings: dict[str, dict]
    context: dict
    hooks_by_style: dict[str, list[str]] = field(default_factory=dict)
    posts: list[dict] = field(default_factory=list)

    @property
    def platforms(self) -> set[str] | None:
        """The platforms the account has (None: its config names none, so any)."""
        return set(self.config.platform_profiles) or None


def read_insights(path) -> dict:
    if not path.exists():
        raise RecError(f"{path}: missing (run make analyze first)")
    try:
        insights = read_json(path)
    except UnreadableJson as exc:
        raise RecError(f"{path}: {exc}") from None
    problem = schema_problem(INSIGHTS_VALIDATOR, insights)
    if problem:
        raise RecError(f"{path}: {problem}")
    return insights


def account_findings(ws: Workspace, account: str, cross: list[dict]) -> dict[str, dict]:
    """The account's own findings, then the cross-account ones (patterns that hold everywhere)."""
    findings = {f["id"]: f for f in read_insights(ws.insights_path(account))["findings"]}
    for finding in cross:
        findings.setdefault(finding["id"], finding)
    return findings


def cross_account_findings(ws: Workspace) -> list[dict]:
    if not ws.all_insights_path.exists():
        return []
    return [f for f in read_insights(ws.all_insights_path)["findings"] if f["dimension"] == "cross_account"]


def post_examples(db) -> dict[str, tuple[dict[str, list[str]], list[dict]]]:
    """Per account: best hooks per style and the best and worst posts (day-7 views), for
    reference hooks and for Claude, from one query for every account. Empty until load and
    backfill have filled the tables."""
    try:
        rows = list(db.query(
            "SELECT d.account_name, d.hook_style, d.hook_text, p.caption, d.format, d.views, "
            "p.output_folder IS NOT NULL AS generated FROM v_post_day7 d "
            "JOIN posts p ON p.post_id = d.post_id WHERE d.views IS NOT NULL "
            "ORDER BY d.account_name, d.views DESC, d.post_id"))
    except sqlite3.Error:  # a DB without posts yet simply has no examples
        return {}
    by_account: dict[str, list[dict]] = {}
    for row in rows:
        by_account.setdefault(row["account_name"], []).append(row)
    return {account: account_examples(account_rows) for account, account_rows in by_account.items()}


def account_examples(rows: list[dict]) -> tuple[dict[str, list[str]], list[dict]]:
    """Up to three hooks per style, and the three best and three worst posts (rows best first).
    Reference hooks come only from posts our generator made (matched to its folder), never from a
    caption someone else wrote, and only ones that pass rules.reference_hook_problem: they become
    text the generator feeds to its own model."""
    by_style: dict[str, list[str]] = {}
    for row in rows:
        hooks = by_style.setdefault(row["hook_style"], [])
        if (row["hook_style"] and row["generated"] and row["hook_text"] not in hooks and len(hooks) < 3
                and recommend_rules.reference_hook_problem(row["hook_text"]) is None):
            hooks.append(row["hook_text"])
    chosen = rows[:3] + rows[3:][-3:]
    posts = [{"rank": "top" if i < 3 else "bottom", "format": r["format"], "hook_style": r["hook_style"],
              "views_d7": r["views"], "hook": r["hook_text"], "caption": r["caption"]}
             for i, r in enumerate(chosen)]
    return by_style, posts


def vet(raw: dict, inputs: AccountInputs) -> dict:
    """Check one proposal (from the rules or from Claude) and turn it into a safe one.
    Raises RecError with the reason it was dropped."""
    if not isinstance(raw, dict):
        raise RecError("not an object")
    finding_id = raw.get("finding_id")
    finding = inputs.findings.get(finding_id) if isinstance(finding_id, str) else None
    if finding is None:
        raise RecError(f"cites unknown finding {_short(raw.get('finding_id'))!r}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise RecError(f"unknown category {_short(category, 40)!r}")
    if category == REVERT:
        raise RecError("a revert is proposed only by a follow-up (scripts/proposals/reverts.py)")
    if not recommend_rules.supports_change(finding, inputs.platforms) and not _experiment(category, raw):
        where = finding.get("platform") or "all platforms"
        raise RecError(f"rests on a {finding.get('confidence')} finding about {where}"
                       f" (changes need a medium or better finding about a platform the account has)")
    ops = changing_ops(raw.get("patch"))
    problem = outside_fields_problem(category, ops)
    if problem:
        raise RecError(problem)
    patch = with_tests(inputs.context, ops)
    result = apply_patch(inputs.context, patch)
    problem = context_error(result, inputs.config, base=inputs.context)
    if problem:
        raise RecError(f"the patched context would break the schema at {problem}")
    if result == inputs.context:
        raise RecError("already true in the context")
    insight = " ".join(str(raw.get("insight") or finding.get("claim") or "").split())[:1000]
    if not insight:
        raise RecError("no insight")
    return {"finding": finding, "category": category, "insight": insight, "patch": patch,
            "confidence": cap_confidence(str(raw.get("confidence")), finding["confidence"])}


def _experiment(category: str, raw: dict) -> bool:
    """An experiment suggestion only asks for posts that would tell, and changes no weight: it may
    rest on an open question (its confidence stays that finding's)."""
    patch = raw.get("patch")
    return isinstance(patch, list) and bool(patch) and all(
        isinstance(op, dict) and (op.get("op") == "test"
                                  or str(op.get("path", "")).startswith("/experiment_suggestions"))
        for op in patch)


def changing_ops(patch) -> list[dict]:
    """A proposal's ops without its own test ops (vet writes fresh ones), each kept to the members
    RFC 6902 gives it, so an annotated op cannot make the file fail the recommendation schema;
    RecError for anything that is not a list of add / remove / replace ops."""
    if not isinstance(patch, list):
        raise RecError(f"the patch is not a list of operations ({type(patch).__name__})")
    ops = []
    for op in patch:
        if isinstance(op, dict) and op.get("op") == "test":
            continue
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace") \
                or not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
            raise RecError(f"unsupported patch operation {_short(op)}")
        members = ("op", "path") if op["op"] == "remove" else ("op", "path", "value")
        ops.append({key: op[key] for key in members if key in op})
    if not ops:
        raise RecError("patch changes nothing")
    return ops


def _short(value, limit: int = 80) -> str:
    """Untrusted input quoted in a reason: cut short, and never a crash however it nests."""
    try:
        return json.dumps(value, ensure_ascii=False)[:limit] if not isinstance(value, str) else value[:limit]
    except (TypeError, ValueError, RecursionError):
        return type(value).__name__


def _touches(patch: list[dict]) -> set[str]:
    return {op["path"] for op in patch if op["op"] == "test"}


def _overlaps(paths: set[str], taken: set[str]) -> bool:
    return any(a == b or a.startswith(b + "/") or b.startswith(a + "/") for a in paths for b in taken)


def choose(vetted: list[dict], blocked: set[frozenset], busy: set[str] = frozenset(),
           slots: int = MAX_PER_ACCOUNT) -> list[dict]:
    """Up to `slots`, in the order given: never a blocked change, never two that test the same value
    (the second would go stale the moment the first is applied), nothing that tests a value a
    waiting (pending or approved) file will change; low confidence only to reach three."""
    chosen, touched, per_category = [], set(busy), {}
    for rec in vetted:
        if len(chosen) >= slots:
            break
        if rec["confidence"] == "low" and len(chosen) >= MIN_PER_ACCOUNT:
            continue
        paths = _touches(rec["patch"])
        if (change_signature(rec["patch"]) in blocked or _overlaps(paths, touched)
                or per_category.get(rec["category"], 0) >= MAX_PER_CATEGORY):
            continue
        chosen.append(rec)
        touched |= paths
        per_category[rec["category"]] = per_category.get(rec["category"], 0) + 1
    return chosen


def vet_all(raws: list[dict], inputs: AccountInputs, source: str, notes: list[str]) -> list[dict]:
    vetted = []
    for i, raw in enumerate(raws, 1):
        try:
            vetted.append({**vet(raw, inputs), "source": source})
        except RecError as exc:
            notes.append(f"{inputs.account}: dropped {source} proposal {i}: {exc}")
    return vetted


def propose(inputs: AccountInputs, blocked: set[frozenset], busy: set[str], slots: int,
            notes: list[str], api_key: str | None) -> list[dict]:
    """Claude's proposals when a key is set (topped up by the rules), the rules' otherwise; none,
    and no call to Claude, when the inbox has no free slot."""
    if slots <= 0:
        return []
    def rules() -> list[dict]:
        findings = list(inputs.findings.values())
        raws = recommend_rules.actionable(findings, inputs.context, inputs.hooks_by_style, inputs.platforms)
        if not raws:  # nothing is clear enough to change: ask for the posts that would tell
            notes.append(f"{inputs.account}: no finding is clear enough for a change; proposing experiments")
            raws = recommend_rules.experiments(findings, inputs.context, inputs.platforms)
        return vet_all(raws, inputs, "rules", notes)

    if not api_key:
        return choose(rules(), blocked, busy, slots)
    from scripts.proposals import claude as recommend_claude
    try:
        raws, model = recommend_claude.propose(inputs, api_key)
    except recommend_claude.ClaudeUnavailable as exc:
        print(f"recommend: {inputs.account}: Claude unavailable ({exc}); falling back to the rules")
        return choose(rules(), blocked, busy, slots)
    chosen = choose(vet_all(raws, inputs, f"claude:{model}", notes), blocked, busy, slots)
    if len(chosen) < min(MIN_PER_ACCOUNT, slots):
        print(f"recommend: {inputs.account}: Claude gave {len(chosen)} usable proposals; topping up from the rules")
        chosen = choose(chosen + rules(), blocked, busy, slots)
    return chosen


def rec_evidence(finding: dict) -> dict:
    groups = finding.get("groups") or []
    return {"finding": finding["id"], "n": sum(g.get("n", 0) for g in groups) if groups else None,
            "effect": finding.get("effect"), "ci": finding.get("ci")}


def write_pending(ws: Workspace, account: str, chosen: list[dict], now, taken: set[str],
                  problems: Problems) -> list[RecFile]:
    """The chosen proposals as pending files; account ALL for cross-account ones (their `patches`)."""
    written = []
    for rec in chosen:
        stem = file_stem(account, now.date().isoformat(), rec["category"], taken)
        taken.add(stem)
        data = {"id": stem, "account": account, "created_at": to_iso(now), "category": rec["category"],
                "confidence": rec["confidence"], "source": rec["source"], "insight": rec["insight"],
                "evidence": rec_evidence(rec["finding"])}
        data.update({"patches": rec["patches"]} if "patches" in rec else {"patch": rec["patch"]})
        data["headline"] = proposal_headline(data, rec["finding"])[:400]  # the schema's cap
        path = ws.rec_dir("pending") / f"{stem}.json"
        try:
            validate_rec(data, path)  # our own output meets the schema we hold others to
            write_json_atomic(path, data)
        except RecError as exc:  # a value from a hand-made insights file, say: this proposal only
            problems.add(f"{path.relative_to(ws.root)}: not written ({exc})")
            continue
        except WriteFailed as exc:  # a full disk: the message names the file
            problems.add(str(exc))
            continue
        written.append(RecFile(path, "pending", data))
    return written


MAX_ACROSS = 2   # cross-account proposals a week: each one lands in every account's inbox


def propose_across(accounts: dict[str, AccountInputs], cross: list[dict], existing: list[RecFile], now) -> list[dict]:
    """A pattern that holds in every account (a universal cross-account finding at medium or better)
    as one proposal with a patch per account: approved once, applied to all. Only accounts that
    have the finding's platform, have room in their inbox and do not hold the change yet; at
    least two of them, or it stays with the accounts' own proposals."""
    chosen = []
    for finding in sorted(cross, key=finding_rank):
        if len(chosen) >= MAX_ACROSS:
            break
        if finding.get("direction") == "none" or (finding.get("details") or {}).get("pattern") != "universal":
            continue
        patches, category = {}, None
        for account, inputs in sorted(accounts.items()):
            if not recommend_rules.supports_change(finding, inputs.platforms) or free_slots(existing, account, now) < 1:
                continue
            raw = recommend_rules.across_accounts(finding, inputs.context, inputs.hooks_by_style)
            try:
                rec = vet(raw, inputs) if raw else None
            except RecError:
                continue
            busy = busy_paths(existing, account) | {p for c in chosen for p in _touches(c["patches"].get(account, []))}
            blocked = blocked_changes(existing, account) | {change_signature(p)
                                                            for p in reverted_changes(existing, account)}
            if rec is None or change_signature(rec["patch"]) in blocked or _overlaps(_touches(rec["patch"]), busy):
                continue
            patches[account], category = rec["patch"], rec["category"]
        if len(patches) >= 2:
            chosen.append({"finding": finding, "category": category, "patches": patches, "source": "rules",
                           "confidence": finding["confidence"],
                           "insight": f"{' '.join(finding['claim'].split())[:700]} Proposed for "
                                      f"{len(patches)} accounts: {account_list(list(patches))}."})
    return chosen


ACCOUNT_LIST_CHARS = 200   # the insight has 1,000 characters; every account is named in `patches`


def account_list(names: list[str]) -> str:
    """The accounts by name while they fit, then how many more: a hundred names would not fit an
    insight (the schema's 1,000 characters), and `patches` names every one anyway."""
    shown: list[str] = []
    for name in names:
        if len(", ".join(shown + [name])) > ACCOUNT_LIST_CHARS:
            return f"{', '.join(shown)} and {len(names) - len(shown)} more" if shown else "each named in its patch"
        shown.append(name)
    return ", ".join(shown)


def write_across(ws: Workspace, accounts: dict[str, AccountInputs], cross: list[dict], existing: list[RecFile],
                 now, taken: set[str], problems: Problems) -> list[RecFile]:
    written = write_pending(ws, ALL, propose_across(accounts, cross, existing, now), now, taken, problems)
    for rec in written:
        print(f"recommend: all: {rec.path.stem} for {', '.join(rec.patches)} (one approval applies it to every one)")
    return written


def blocked_changes(existing: list[RecFile], account: str) -> set[frozenset]:
    """Changes that must not be proposed again: waiting for a human, or turned down by one."""
    return {change_signature(r.patches[account]) for r in existing
            if account in r.patches and r.state in ("pending", "approved", "rejected")}


def free_slots(existing: list[RecFile], account: str, now) -> int:
    """At most five a week, and at most five waiting: a full inbox gets nothing new until a human
    has looked at it (the findings keep, nothing is lost by waiting)."""
    mine = [r for r in existing if account in r.patches]
    waiting = sum(r.state == "pending" for r in mine)
    week = now.isocalendar()[:2]
    this_week = sum(parse_utc(r.data["created_at"]).isocalendar()[:2] == week for r in mine)
    return max(0, MAX_PER_ACCOUNT - max(waiting, this_week))


def busy_paths(existing: list[RecFile], account: str) -> set[str]:
    """Values a waiting file tests: a new patch testing them would go stale once that file applies."""
    return {path for r in existing if account in r.patches and r.state in ("pending", "approved")
            for path in _touches(r.patches[account])}


def why_fewer(slots: int, findings: dict) -> str:
    """Why an account got fewer than MIN_PER_ACCOUNT proposals, in words that say what to do."""
    if slots <= 0:
        return "its inbox is full: approve or reject what is pending (make review) to get new proposals"
    if not findings:
        return "no findings yet (run make analyze once its posts are loaded)"
    return "nothing more the findings support that is not already pending, rejected or in the context"


def recommend_workspace(ws: Workspace, now) -> Problems:
    problems = Problems("recommend")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    existing, bad_files = read_states(ws)
    for line in bad_files:
        problems.add(line)
    try:
        cross = cross_account_findings(ws)
    except RecError as exc:
        problems.add(str(exc))
        cross = []
    refusal = missing_data(ws)
    if refusal:
        problems.add(f"{refusal}; no proposal was written")
        return problems
    db = open_db(ws.db_path)
    api_key = read_secret("ANTHROPIC_API_KEY", ws)
    examples = post_examples(db)
    taken = {r.path.stem for r in existing}
    notes: list[str] = []
    accounts: dict[str, AccountInputs] = {}
    for account, config in configs.items():
        try:
            findings = account_findings(ws, account, cross)
            context = context_or_default(ws, account, config)
        except RecError as exc:
            problems.add(str(exc))
            continue
        broken = context_error(context, config)
        if broken:
            problems.add(f"{ws.context_path(account)}: {broken} (fix it by hand; apply refuses to build on it)")
            continue
        # follow-ups that found harm come first: their revert proposals (docs/followups.md)
        reverts, lines = revert_proposals(ws, account, config, context, existing, busy_paths(existing, account),
                                          now, taken)
        existing += reverts
        for line in lines:
            problems.add(line)
        by_style, posts = examples.get(account, ({}, []))
        accounts[account] = AccountInputs(account, config, findings, context, by_style, posts)
    existing += write_across(ws, accounts, cross, existing, now, taken, problems)
    for account, inputs in accounts.items():
        findings = inputs.findings
        slots = free_slots(existing, account, now)
        blocked = blocked_changes(existing, account) | {change_signature(p) for p in reverted_changes(existing, account)}
        chosen = propose(inputs, blocked, busy_paths(existing, account), slots, notes, api_key)
        written = write_pending(ws, account, chosen, now, taken, problems)
        existing += written
        sources = ", ".join(sorted({r.data["source"] for r in written})) or "-"
        print(f"recommend: {account}: {len(written)} new in {ws.rec_dir('pending').relative_to(ws.root)}/"
              f" ({sources})" + ("" if len(written) >= MIN_PER_ACCOUNT else f"; {why_fewer(slots, findings)}"))
    for line in notes:
        print(f"recommend: note: {line}")
    sync_db(db, ws, existing)
    return problems
