"""Follow-ups: did each applied recommendation work? (docs/followups.md)

For every file in recommendations/applied/ (single-account `patch`, or `all--` files with
`patches` per account) the change's lever is read from its patch (format_weights/step_guide up ->
posts of format step_guide, favoured; hook_insights/worst_styles += x -> posts with an x hook,
avoided; ...). The posts *after* are those the generator made under the new context: matched to an
output folder (backfill) whose meta.json generated_at is at or after the file's applied_at (and
before a revert of it was applied). Posts without a generator folder are never "after". The
posts published before applied_at are the baseline.

One least-squares model per follow-up on the log of the finding's day-7 metric:
    y ~ after + lever + lever x after + the other levers (format, hook style, pillar, CTA, slides,
        time block, weekday, hook score; dropped below MIN_DF residual degrees of freedom)
- effect = exp(lever + lever x after): lever posts against the account's other posts made since
  the change, other levers held equal. The other posts of the same weeks are the control, so a
  platform-wide dip cancels.
- did = exp(lever x after): how that ratio moved against before the change (difference in
  differences); the accounts without the change give the same number as a second control.

Status, read in the change's direction (a favoured lever should do better than the rest, an
avoided one worse):
- hurt / worked: the lever is on the wrong / the promised side of "no difference", with an
  always-valid p < DECIDE_P (a mixture SPRT, stats.always_valid_p: the same follow-up is looked at
  every week, and a plain p read weekly crosses by chance several times as often). Its standard
  error is the sandwich (HC3) one: the inverse-propensity weights of randomised picks are not
  precisions;
- no_change: enough posts (the interval is narrow enough to see MDE_RATIO at POWER) and the
  95 % interval holds "no difference" but excludes the effect the change was based on;
- waiting: otherwise, with posts_needed = how many more posts since the change until a MDE_RATIO
  effect would be decided (worked / hurt) at POWER by the weekly-read test.
Before/after is not randomised: confidence is at most medium, and the wording says "looks like".
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite3

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq

from scripts.analysis import stats
from scripts.analysis.beliefs import account_beliefs
from scripts.analysis.data import METRICS, PRIMARY_METRIC, PlatformPosts
from scripts.analysis.model import LEVERS, lever_labels
from scripts.core.db import open_db
from scripts.core.files import UnreadableJson, read_json
from scripts.core.schemas import INSIGHTS_SCHEMA, Checker, schema_problem
from scripts.core.timeutil import parse_utc, to_iso
from scripts.core.workspace import PLATFORMS, Workspace, is_account_name
from scripts.store.backfill import generated_time

CI_LEVEL = 0.95
# worked / hurt need an always-valid p below this, over all the weekly looks. Stricter than one
# test's 0.01 because an account collects about one applied change a week, each followed at once:
# at 0.001 each, 25 open follow-ups keep the chance of any false verdict near 2.5 % (Bonferroni),
# and a 2x effect still clears it with about 40 posts on each side.
DECIDE_P = 0.001
MDE_RATIO = 1.5          # the smallest effect a follow-up must be able to see ...
POWER = 0.8              # ... with this power at CI_LEVEL: sets "enough posts"
MIN_AFTER = 10           # lever posts and other posts since the change, each, before any verdict
MIN_DF = 30              # residual df the adjusted model needs (as the lever model)
PLANNING_SD = 0.7        # residual SD of log views assumed when there is nothing to estimate it from
_Z = float(sps.norm.ppf(1 - (1 - CI_LEVEL) / 2))
_NEEDED_SE = math.log(MDE_RATIO) / (_Z + float(sps.norm.ppf(POWER)))  # SE at which MDE_RATIO is seen


def _decide_se() -> float:
    """The standard error at which a MDE_RATIO effect gets an always-valid p below DECIDE_P with
    POWER: the weekly-read test needs about three times the posts of one 95 % look."""
    scale, shortfall = math.log(MDE_RATIO), float(sps.norm.ppf(POWER))
    return float(brentq(lambda se: stats.mixture_log_ratio(scale - shortfall * se, se, scale) + math.log(DECIDE_P),
                        1e-4, scale))


_DECIDE_SE = _decide_se()
WORDS = {"format": "{v} posts", "hook_style": "posts with a {v} hook", "content_pillar": "posts in the {v} pillar",
         "cta": "posts with the {v} CTA", "slides": "posts with {v} slides"}
LIST_LEVERS = {"/hook_insights/best_styles": ("hook_style", 1), "/hook_insights/worst_styles": ("hook_style", -1),
               "/top_pillars": ("content_pillar", 1), "/underperforming_pillars": ("content_pillar", -1)}
EXPERIMENT_LEVERS = {"format": "format", "cta": "cta"}  # "Format how_to: ..." / "CTA save_this: ..."
AVOID_WORDS = ("avoid", "swap some", "fewer", "less of")  # "CTA x: avoid it", "Format y: ...; swap some for ..."


@dataclass
class Applied:
    """One applied change to one account."""
    id: str
    account: str
    category: str
    applied_at: datetime
    ops: list[dict]
    evidence: dict
    reverts: str | None = None
    reverted_by: str | None = None
    reverted_at: datetime | None = None
    undoes: tuple[str, str, int] | None = None   # a revert: the lever of the change it undid

    @property
    def lever(self) -> tuple[str, str, int] | None:
        """A revert follows the lever of the change it undid, the other way round."""
        if self.undoes:
            return self.undoes[0], self.undoes[1], -self.undoes[2]
        return lever_of(self.ops)


def _pointer_get(document, parts: list[str]):
    for part in parts:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def old_value(tests: dict[str, object], path: str):
    """The value a path held before the patch, from the patch's test ops (on it or a parent)."""
    for tested, value in tests.items():
        if path == tested:
            return value
        if path.startswith(tested + "/"):
            return _pointer_get(value, path[len(tested) + 1:].split("/"))
    return None


def lever_of(ops: list[dict]) -> tuple[str, str, int] | None:
    """(lever, level, +1 favoured / -1 avoided) of the patch's largest change, or None when it
    changes nothing a post carries (e.g. save_vs_share lists)."""
    tests = {op.get("path"): op.get("value") for op in ops if op.get("op") == "test"}
    found: list[tuple[float, tuple[str, str, int]]] = []
    for op in ops:
        if op.get("op") not in ("add", "replace", "remove") or not isinstance(op.get("path"), str):
            continue
        path, new = op["path"], op.get("value")
        old = old_value(tests, path)
        if path.startswith("/format_weights"):
            new_w = new if isinstance(new, dict) else {path.split("/")[2]: new} if path.count("/") == 2 else {}
            old_w = old if isinstance(old, dict) else {path.split("/")[2]: old} if path.count("/") == 2 else {}
            for fmt, value in new_w.items():
                before = old_w.get(fmt, 1.0)
                if _number(value) and _number(before) and value > 0 and before > 0 and value != before:
                    found.append((abs(math.log(value / before)), ("format", fmt, 1 if value > before else -1)))
        elif path in LIST_LEVERS or path.rsplit("/", 1)[0] in LIST_LEVERS:
            base = path if path in LIST_LEVERS else path.rsplit("/", 1)[0]
            lever, sign = LIST_LEVERS[base]
            added = _added(old_value(tests, base), _pointer_get({"v": new}, ["v"]) if path == base else
                           (old_value(tests, base) or []) + [new])
            for item in added:
                found.append((1.0, (lever, item, sign)))
            if path == base and not added and isinstance(new, list) and new and base == "/top_pillars":
                found.append((0.5, (lever, new[0], sign)))  # a reorder: the new first pillar
        elif path == "/optimal_slide_count" and _number(new):
            found.append((1.0, ("slides", str(int(new)), 1)))
        elif path.startswith("/experiment_suggestions"):
            texts = new if isinstance(new, list) else [new]
            for text in _added(old if isinstance(old, list) else [], texts):
                head, _, rest = text.partition(":") if isinstance(text, str) else ("", "", "")
                head = head.split()
                if len(head) == 2 and head[0].lower() in EXPERIMENT_LEVERS:
                    sign = -1 if any(word in rest.lower() for word in AVOID_WORDS) else 1
                    found.append((0.8, (EXPERIMENT_LEVERS[head[0].lower()], head[1], sign)))
    if not found:
        return None
    return max(found, key=lambda item: item[0])[1]


def _added(old, new) -> list[str]:
    old = old if isinstance(old, list) else []
    return [v for v in (new if isinstance(new, list) else []) if isinstance(v, str) and v not in old]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- reading the applied files ----------------------------------------------------------------

def read_applied(ws: Workspace, approved_at: dict[str, str] | None = None) -> tuple[list[Applied], list[str]]:
    """Every applied change, one per account it touched, plus one line per unreadable file.
    applied_at is the file's own (set by apply), else the DB's approved_at."""
    approved_at = approved_at or {}
    changes, problems = [], []
    for path in sorted(ws.rec_dir("applied").glob("*.json")):
        try:
            data = read_json(path)
            changes += _changes(data, approved_at)
        except (UnreadableJson, OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path.relative_to(ws.root)}: no follow-up ({exc})")
    by_id = {(c.account, c.id): c for c in changes}
    for change in changes:  # a revert closes the window of the change it undoes
        target = by_id.get((change.account, change.reverts)) if change.reverts else None
        if target is not None and (target.reverted_at is None or change.applied_at < target.reverted_at):
            target.reverted_by, target.reverted_at = change.id, change.applied_at
        if target is not None and target.lever:
            change.undoes = target.lever
    return changes, problems


def _changes(data, approved_at: dict[str, str]) -> list[Applied]:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ValueError("not a recommendation object with an id")
    when = parse_utc(data.get("applied_at") or approved_at.get(data["id"]))
    if when is None:
        raise ValueError("no applied_at (apply sets it) and no approved_at in the database")
    patches = data.get("patches") if isinstance(data.get("patches"), dict) else {data.get("account"): data.get("patch")}
    changes = []
    for account, ops in patches.items():
        if not is_account_name(account) or not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            raise ValueError(f"no usable patch for account {str(account)[:40]!r}")
        changes.append(Applied(data["id"], account, str(data.get("category")), when, ops,
                               data.get("evidence") if isinstance(data.get("evidence"), dict) else {},
                               data.get("reverts") if isinstance(data.get("reverts"), str) else None))
    return changes


def evidence_metric(change: Applied) -> tuple[str | None, str | None]:
    """(platform, metric) of the finding the change rests on: formats/tiktok/views_d7/... ."""
    parts = str(change.evidence.get("finding") or "").split("/")
    platform = parts[1] if len(parts) > 2 and parts[1] in PLATFORMS else None
    metric = parts[2] if len(parts) > 2 and parts[2].removesuffix("_d7") in METRICS and parts[2].endswith("_d7") \
        else None
    return platform, metric


# --- which posts came after -------------------------------------------------------------------

def generated_at(ws: Workspace, account: str, posts: dict[str, tuple], since: datetime,
                 tz: ZoneInfo) -> tuple[dict[str, float], dict[str, float]]:
    """(post_id -> when its generator folder was made (epoch s), post_id -> the propensity of its
    randomised format pick), for matched posts published since `since` (earlier ones cannot be
    after any change). posts: post_id -> (published, output_folder)."""
    found, picks, cutoff = {}, {}, (since - timedelta(days=1)).timestamp()
    for post_id, (published, folder) in posts.items():
        if not folder or published is None or published.timestamp() < cutoff:
            continue
        meta_path = ws.account_dir(account) / folder / "meta.json"
        try:
            meta = read_json(meta_path, max_bytes=4 * 2**20) if meta_path.is_file() else {}
            files = {"meta.json": meta_path} if meta_path.is_file() else \
                {p.name: p for p in (ws.account_dir(account) / folder).glob("*.json")}
            if files:
                found[post_id] = generated_time(meta if isinstance(meta, dict) else {}, folder, files, tz)
            pick = meta.get("format_choice") if isinstance(meta, dict) else None
            if isinstance(pick, dict) and not pick.get("overridden") and _number(pick.get("propensity")) \
                    and 0 < pick["propensity"] <= 1:
                picks[post_id] = float(pick["propensity"])
        except (UnreadableJson, OSError, ValueError):
            continue  # backfill reports a broken folder; here the post is simply not "after"
    return found, picks


def read_posts(db, account: str) -> dict[str, tuple]:
    """post_id -> (published UTC, output_folder) of one account."""
    return {row[0]: (parse_utc(row[1]), row[2]) for row in db.execute(
        "SELECT post_id, published_at, output_folder FROM posts WHERE account_name = ?", [account])}


# --- the model --------------------------------------------------------------------------------

@dataclass
class Fit:
    after: stats.Estimate | None      # lever vs the rest, since the change
    before: stats.Estimate | None     # the same before it
    did: stats.Estimate | None        # after - before
    n_before: int
    n_after: int
    n_lever_after: int
    n_other_after: int
    sd: float | None                  # residual SD (planning the posts needed)
    adjusted: list[str] = field(default_factory=list)


def fit_change(posts: PlatformPosts, values: np.ndarray, lever: str, level: str, before: np.ndarray,
               after: np.ndarray, adjust: bool = True, weights: np.ndarray | None = None,
               times: np.ndarray | None = None) -> Fit:
    """The follow-up model on one platform's day-7 posts (see the module docstring); weights:
    per-post least-squares weights (the inverse propensities of randomised format picks); times:
    the posts' publishing times (UTC seconds), for a smooth trend over time. Without the trend, a
    lever the generator uses more and more (a format Thompson sampling comes to favour) would take
    credit for an account's growth: its posts are the later ones."""
    labels = lever_labels(posts)
    y = np.log1p(values)
    w = np.ones(len(y)) if weights is None else np.where(np.isfinite(weights) & (weights > 0), weights, 1.0)
    use = (before | after) & np.isfinite(y) & (labels[lever] != None)  # noqa: E711
    others = [name for name in LEVERS if name != lever]
    full = use & np.isfinite(posts.hook_score)
    for name in others:
        full &= labels[name] != None  # noqa: E711
    fit = sd = None
    if adjust and full.sum() > 0:
        fit, sd = _fit(y, labels, posts.hook_score, lever, level, after, full, others, w, times)
        if fit is None or fit.df < MIN_DF:
            fit = None
        else:
            use = full
    if fit is None:
        fit, sd = _fit(y, labels, posts.hook_score, lever, level, after, use, [], w, times)
        others = []
    is_lever = (labels[lever] == level) & use
    counts = dict(n_before=int((use & before).sum()), n_after=int((use & after).sum()),
                  n_lever_after=int((is_lever & after).sum()), n_other_after=int((use & after & ~is_lever).sum()))
    if fit is None:
        return Fit(None, None, None, sd=None, **counts)
    e = np.eye(len(fit.beta))
    return Fit(stats.contrast(fit, e[2] + e[3]), stats.contrast(fit, e[2]), stats.contrast(fit, e[3]), sd=sd,
               adjusted=others + (["hook_score"] if others else []), **counts)


def _fit(y, labels, hook_score, lever, level, after, use, others, w, times=None):
    """Columns: 1, after, lever, lever x after, then the other levers' levels (reference coded), and
    a quadratic trend in time when times are given; weighted least squares with w scaled to mean 1."""
    if use.sum() < 5:
        return None, None
    is_lever = (labels[lever][use] == level).astype(float)
    period = after[use].astype(float)
    columns = [np.ones(int(use.sum())), period, is_lever, is_lever * period]
    for name in others:
        values = labels[name][use]
        for value in sorted({v for v in values})[1:]:
            columns.append((values == value).astype(float))
    if others:
        score = hook_score[use]
        columns.append(score - score.mean())
    if times is not None and np.isfinite(times[use]).all() and np.ptp(times[use]) > 0:
        t = (times[use] - times[use].mean()) / np.ptp(times[use])
        columns += [t, t ** 2 - (t ** 2).mean()]
    x = np.column_stack(columns)
    if x.shape[0] <= x.shape[1]:
        return None, None
    root = np.sqrt(w[use] / w[use].mean())
    fit = stats.least_squares(x * root[:, None], y[use] * root, robust=True)
    if fit is None:
        return None, None
    residual = (y[use] - x @ fit.beta) * root
    return fit, math.sqrt(float(residual @ residual) / fit.df)


# --- the verdict ------------------------------------------------------------------------------

def _ratio(estimate: stats.Estimate | None) -> tuple[float | None, list[float] | None]:
    if estimate is None:
        return None, None
    return float(np.exp(estimate.value)), [float(np.exp(estimate.ci[0])), float(np.exp(estimate.ci[1]))]


def posts_needed(fit: Fit, target_se: float) -> int:
    """More posts since the change for a standard error of target_se: it falls with the square root
    of the posts; with no estimate yet, planned from the residual SD (or PLANNING_SD) and an even
    split of lever and other posts."""
    if fit.after is not None and fit.n_after:
        ratio = (fit.after.se / target_se) ** 2
        return max(0, math.ceil(fit.n_after * (ratio - 1)))
    sd = fit.sd or PLANNING_SD
    total = math.ceil((sd / target_se) ** 2 / 0.25)
    return max(0, total - fit.n_after)


def verdict(fit: Fit, sign: int, expected: float | None) -> tuple[str, int | None]:
    """(status, posts_needed); see the module docstring. posts_needed counts the posts until a
    MDE_RATIO effect would be decided by the weekly-read test; no_change needs fewer (one 95 % look
    that rules out the promised effect)."""
    needed = posts_needed(fit, _DECIDE_SE)
    estimate = fit.after
    if fit.n_after >= MIN_AFTER and min(fit.n_lever_after, fit.n_other_after) == 0:
        return "waiting", None  # every post since is (or none is) the lever: nothing to compare with
    if estimate is None or min(fit.n_lever_after, fit.n_other_after) < MIN_AFTER:
        return "waiting", max(needed, MIN_AFTER - min(fit.n_lever_after, fit.n_other_after), 1)
    value, low, high = sign * estimate.value, *sorted((sign * estimate.ci[0], sign * estimate.ci[1]))
    if stats.always_valid_p(estimate, math.log(MDE_RATIO)) < DECIDE_P:
        return ("worked" if value > 0 else "hurt"), 0
    target = abs(math.log(expected)) if expected and expected > 0 and expected != 1 else math.log(MDE_RATIO)
    if posts_needed(fit, _NEEDED_SE) == 0 and low <= 0 <= high and high < target:
        return "no_change", 0
    return "waiting", max(needed, 1)


def followup_claim(change: Applied, lever: tuple[str, str, int], status: str, fit: Fit, metric_words: str,
                   needed: int | None, control_text: str | None) -> str:
    name, level, sign = lever
    what = WORDS[name].format(v=level)
    day = change.applied_at.date().isoformat()
    aim = "favours" if sign > 0 else "avoids"
    if needed is None:
        which = "every post" if fit.n_lever_after else "no post"
        return (f"The change of {day} {aim} {what}: {which} made since then ({fit.n_after}) is one of {what}, so "
                f"there are no other posts of the same weeks to compare with; this follow-up cannot tell.")
    if fit.after is None or status == "waiting" and min(fit.n_lever_after, fit.n_other_after) < MIN_AFTER:
        return (f"The change of {day} {aim} {what}: {fit.n_after} posts made since then ({fit.n_lever_after} of them "
                f"{what}); about {needed} more are needed to tell a {MDE_RATIO:g}x difference ({POWER:.0%} power).")
    effect, ci = _ratio(fit.after)
    before, _ = _ratio(fit.before)
    text = (f"Since the change of {day} ({aim} {what}), {what} got {_times(effect)} the {metric_words} of your other "
            f"posts ({CI_LEVEL:.0%} CI {_times(ci[0])}–{_times(ci[1])}; {fit.n_lever_after} vs {fit.n_other_after} posts"
            f"{', other levers held equal' if fit.adjusted else ''})"
            + (f", against {_times(before)} before it" if before is not None else "") + ". ")
    them = "the posts it favours" if sign > 0 else "the posts it steers away from"
    text += {"worked": f"It looks like it worked: {them} kept doing {'better' if sign > 0 else 'worse'} (likely; "
                       f"before/after is not proof).",
             "hurt": f"It looks like it hurt: {them} did {'worse' if sign > 0 else 'better'} than the rest (likely; "
                     f"before/after is not proof)" + (f"; it was undone by {change.reverted_by}." if change.reverted_by
                                                       else "." if change.category == "revert"
                                                       else "; a revert is proposed."),
             "no_change": "No clear difference, and the effect it was based on is ruled out: it did not do what it "
                          "promised.",
             "waiting": ("Leaning that way, but not clear yet: a follow-up read every week needs stronger "
                         f"evidence than one look, about {needed} more posts." if stats.excludes(fit.after.ci, 0.0)
                         else f"Not clear yet: about {needed} more posts are needed.")}[status]
    return text + (f" Control: {control_text}." if control_text else "")


def _times(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def _control(change: Applied, lever, platform: str, metric: str, platforms_by: dict, touched: dict,
             published_by: dict) -> tuple:
    """The accounts without the change: their own lever ratio's move, before vs after applied_at
    (by publishing time), pooled; (text, effect, ci)."""
    name, level, _ = lever
    estimates, names = [], []
    for account in sorted(platforms_by):
        if account == change.account or (name, level) in touched.get(account, set()):
            continue
        posts = platforms_by[account].get(platform)
        if posts is None or not len(posts) or metric.removesuffix("_d7") not in posts.day7:
            continue
        published = published_by.get((account, platform))
        if published is None:
            continue
        after = published >= change.applied_at.timestamp()
        fit = fit_change(posts, posts.day7[metric.removesuffix("_d7")], name, level, ~after & np.isfinite(published),
                         after, adjust=False)
        if fit.did is not None and fit.n_lever_after >= MIN_AFTER:
            estimates.append(fit.did)
            names.append(account)
    pooled = stats.fixed_effect(estimates)
    if pooled is None:
        return None, None, None
    effect, ci = _ratio(pooled)
    return (f"accounts without the change ({', '.join(names)}): the same ratio moved {_times(effect)} over the same "
            f"time"), effect, ci


def workspace_followups(ws: Workspace, db, configs: dict,
                        platforms_by: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """account -> its follow-ups, for every account in platforms_by (account -> platform -> its
    day-7 PlatformPosts), plus one line per applied file that cannot be read. Nothing is read from
    the database or the generator folders when nothing has been applied."""
    approved_at = {row[0]: row[1] for row in db.execute(
        "SELECT id, approved_at FROM recommendations WHERE approved_at IS NOT NULL")}
    changes, problems = read_applied(ws, approved_at)
    result: dict[str, list[dict]] = {account: [] for account in platforms_by}
    if not changes:
        return result, problems
    touched = touched_levers(changes)
    posts_info = {account: read_posts(db, account) for account in platforms_by}
    published_by = {}
    for account, platforms in platforms_by.items():
        for platform, posts in platforms.items():
            ids = posts.post_id
            published_by[(account, platform)] = np.array(
                [t.timestamp() if (t := posts_info[account].get(pid, (None, None))[0]) else np.nan for pid in ids])
    for account in platforms_by:
        mine = sorted((c for c in changes if c.account == account), key=lambda c: (c.applied_at, c.id))
        if not mine:
            continue
        made, picks = generated_at(ws, account, posts_info[account], mine[0].applied_at,
                                   account_tz(configs[account]))
        result[account] = [followup(change, platforms_by[account], made, platforms_by, touched, published_by, picks)
                           for change in mine]
    return result, problems


def followup(change: Applied, platforms: dict, made: dict, platforms_by: dict, touched: dict,
             published_by: dict, picks: dict | None = None) -> dict:
    """One change's follow-up (the insights file's followups item); platforms: platform -> the
    account's day-7 PlatformPosts."""
    lever = change.lever
    platform, metric = evidence_metric(change)
    candidates = [p for p in platforms if len(platforms[p])]
    if platform not in candidates:
        platform = max(candidates, key=lambda p: (p == "tiktok", len(platforms[p])), default=None)
    metric = metric or (f"{PRIMARY_METRIC[platform]}_d7" if platform else "views_d7")
    base = {"recommendation": change.id, "category": change.category, "applied_at": to_iso(change.applied_at),
            "platform": platform, "lever": {lever[0]: lever[1]} if lever else {},
            "direction": ("favour" if lever[2] > 0 else "avoid") if lever else None, "metric": metric,
            "reverted_by": change.reverted_by, "expected": _expected(change)}
    if lever is None or platform is None:
        why = "it changes nothing a post carries that this follow-up can measure" if lever is None else \
            "no day-7 posts yet"
        return {**base, "status": "waiting", "confidence": "low", "posts_before": 0, "posts_after": 0,
                "posts_needed": None, "effect": None, "ci": None, "control": None,
                "claim": f"The change of {change.applied_at.date().isoformat()} cannot be followed up yet: {why}."}
    posts = platforms[platform]
    start = change.applied_at.timestamp()
    end = change.reverted_at.timestamp() if change.reverted_at else math.inf
    published = published_by[(change.account, platform)]
    generated = np.array([made.get(pid, np.nan) for pid in posts.post_id])
    before = published < start
    after = (generated >= start) & (generated < end)
    values = posts.day7.get(metric.removesuffix("_d7"), posts.primary)
    # a format the generator picked at random (Thompson sampling) is weighted by 1/propensity: an
    # arm that looked bad early is sampled less, so unweighted arm means are biased
    weights = np.array([1 / (picks or {}).get(pid, 1.0) for pid in posts.post_id]) if lever[0] == "format" else None
    fit = fit_change(posts, values, lever[0], lever[1], before, after, weights=weights, times=published)
    status, needed = verdict(fit, lever[2], base["expected"])
    effect, ci = _ratio(fit.after)
    did, did_ci = _ratio(fit.did)
    control_text, control_effect, control_ci = _control(change, lever, platform, metric, platforms_by, touched,
                                                        published_by)
    control = "your other posts made in the same weeks" + (f"; {control_text}" if control_text else "")
    words = f"day-7 {metric.removesuffix('_d7')}"
    return {**base, "status": status, "confidence": "low" if status == "waiting" else "medium",
            "posts_before": fit.n_before, "posts_after": fit.n_after, "posts_needed": needed,
            "effect": effect, "ci": ci, "before_effect": _ratio(fit.before)[0], "did": did, "did_ci": did_ci,
            "control": control, "control_effect": control_effect, "control_ci": control_ci,
            "claim": followup_claim(change, lever, status, fit, words, needed, control_text)}


def _expected(change: Applied) -> float | None:
    """The ratio the change was based on: its finding's effect, when that is a day-7 metric's ratio
    (not a share of posts, not a follow-up's own number)."""
    effect = change.evidence.get("effect")
    _, metric = evidence_metric(change)
    return float(effect) if metric and _number(effect) and effect > 0 else None


def touched_levers(changes: list[Applied]) -> dict[str, set]:
    """account -> the (lever, level) pairs its applied changes touched (not a control for them)."""
    found: dict[str, set] = {}
    for change in changes:
        if change.lever:
            found.setdefault(change.account, set()).add(change.lever[:2])
    return found


FOLLOWUP_COLUMNS = ("account_name", "recommendation", "category", "applied_at", "platform", "lever", "direction",
                    "metric", "status", "confidence", "posts_before", "posts_after", "posts_needed", "effect",
                    "ci_low", "ci_high", "control", "reverted_by", "claim")


def table_rows(account: str, followups: list[dict]) -> list[dict]:
    """The followups table's rows (sql/tables/followups.sql), a mirror of the insights files."""
    plain = [k for k in FOLLOWUP_COLUMNS[1:] if k not in ("lever", "ci_low", "ci_high")]
    return [{"account_name": account, **{k: f.get(k) for k in plain},
             "lever": json.dumps(f["lever"], sort_keys=True), "ci_low": (f["ci"] or [None, None])[0],
             "ci_high": (f["ci"] or [None, None])[1]} for f in followups]


def write_table(db, accounts: list[str], rows: list[dict]) -> None:
    """Replace the analyzed accounts' rows in one transaction."""
    with db.conn:
        db.conn.executemany("DELETE FROM followups WHERE account_name = ?", [[a] for a in accounts])
        if rows:
            db.conn.executemany(
                f"INSERT INTO followups ({', '.join(FOLLOWUP_COLUMNS)}) VALUES "
                f"({', '.join(':' + c for c in FOLLOWUP_COLUMNS)})", rows)


def account_tz(config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")




_EXTRA_VALIDATOR = Checker(
    {**INSIGHTS_SCHEMA, "required": [], "properties": {k: INSIGHTS_SCHEMA["properties"][k] for k in ("followups", "beliefs")}})


def close_the_loop(ws: Workspace, configs: dict, docs: list[dict], platforms_by: dict) -> list[str]:
    """Add `followups` and `beliefs` to each account's insights document and mirror the follow-ups
    into the followups table; one line per problem (an account's failure costs only its extras).
    platforms_by: account -> platform -> its day-7 PlatformPosts (AccountData.platforms)."""
    try:
        db = open_db(ws.db_path)
    except (sqlite3.Error, OSError) as exc:
        return [f"{ws.db_path}: no follow-ups ({exc})"]
    try:
        found, problems = workspace_followups(ws, db, configs, platforms_by)
    except Exception as exc:  # a bug or an odd file must not cost the findings: the files are still written
        found, problems = {}, [f"{ws.rec_dir('applied')}: no follow-ups ({type(exc).__name__}: {exc})"]
    rows, done = [], []
    for doc in docs:
        account = doc["account"]
        try:
            extra = {"followups": found.get(account, []),
                     "beliefs": account_beliefs(ws, db, account, configs[account], platforms_by[account],
                                                doc["data_through"])}
            problem = schema_problem(_EXTRA_VALIDATOR, extra)
            if problem:
                raise ValueError(f"does not match insights.schema.json at {problem}")
        except Exception as exc:  # one account's extras never cost the others theirs
            problems.append(f"{ws.insights_path(account)}: no follow-ups or beliefs ({type(exc).__name__}: {exc})")
            continue
        doc.update(extra)
        rows += table_rows(account, extra["followups"])
        done.append(account)
    try:
        write_table(db, done, rows)
    except sqlite3.Error as exc:
        problems.append(f"{ws.db_path}: cannot write the followups table ({exc})")
    finally:
        db.conn.close()
    return problems
