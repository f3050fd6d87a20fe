"""The account's portfolio over time (exploration vs exploitation) and patterns across accounts."""
from __future__ import annotations

from datetime import timedelta

import numpy as np

from scripts.analysis import stats
from scripts.analysis.content import POSTS_WITH, levels, pick_one
from scripts.analysis.data import PRIMARY_METRIC, AccountData, PlatformPosts
from scripts.analysis.model import PART_BY_NAME, LeverModel
from scripts.analysis.findings import Candidate, evidence_words, pct, times
from scripts.store.classify import CTAS, HOOK_STYLES
from scripts.core.config import AccountConfig
from scripts.core.timeutil import parse_utc
from scripts.core.workspace import PLATFORMS

RECENT = timedelta(days=30)    # "untested lately": nothing in the 30 days before data_through
MIX = timedelta(days=90)       # the recent mix that over-indexing is judged on
OVER_INDEX = 1.5               # over-indexing: above 1.5x an even share of the configured formats


# --- 10 exploration vs exploitation ------------------------------------------------------------

def _items(data: AccountData) -> list[dict]:
    """Distinct content items (a cross-posted generator folder counts once), first publish time."""
    items: dict[str, dict] = {}
    for post in sorted(data.published, key=lambda p: (p.published, p.post_id)):
        item = items.setdefault(post.content_key, {"published": post.published, "format": None, "content_pillar": None})
        item["format"] = item["format"] or post.format
        item["content_pillar"] = item["content_pillar"] or post.content_pillar
    return list(items.values())


def exploration(data: AccountData, config: AccountConfig) -> list[Candidate]:
    through = parse_utc(data.data_through)
    items = _items(data)
    if through is None or not items:
        return []
    found = _over_indexing(items, config.formats, through)
    for column, names in (("format", config.formats), ("content_pillar", list(config.content_pillars))):
        found += _untested(items, column, names, through)
    return found


def _over_indexing(items: list[dict], formats: list[str], through) -> list[Candidate]:
    mix = [i["format"] for i in items if i["published"] > through - MIX and i["format"] is not None]
    if len(mix) < 2 * stats.MIN_GROUP or not formats:
        return []
    limit = min(0.9, OVER_INDEX / len(formats))
    found = []
    for fmt in formats:
        k = mix.count(fmt)
        result = stats.proportion_above(k, len(mix), limit)

        def claim(c: Candidate, direction: str, q, fmt=fmt, k=k) -> str:
            numbers = f"{k} of {len(mix)} posts; {evidence_words(q, c.ci, pct)}"
            if direction == "worse":
                return (f"Over-indexing: {fmt} is {pct(c.effect)} of the last 90 days' posts, above "
                        f"{OVER_INDEX:g}x an even share of {len(formats)} formats ({pct(limit)}) ({numbers}).")
            return (f"No clear over-indexing: the most-used format, {fmt}, is {pct(c.effect)} of the last 90 days' "
                    f"posts (over-indexing starts at {pct(limit)}) ({numbers}).")

        found.append(Candidate(
            id=f"exploration/all/share_of_posts/format={fmt}", dimension="exploration", platform=None,
            metric="share_of_posts", groups=[{"name": fmt, "n": k}, {"name": "other formats", "n": len(mix) - k}],
            subject={"format": fmt}, claim=claim, effect=result.share, effect_kind="share", ci=result.ci,
            p=result.p, null_value=limit, higher_is="worse", one_sided=True, keep="best:over-indexing",
            details={"window_days": MIX.days, "even_share": 1 / len(formats), "over_index_above": limit}))
    return found


def _untested(items: list[dict], column: str, names: list[str], through) -> list[Candidate]:
    """Configured formats or pillars with no post in the last 30 days. p: the chance of that gap if
    the item kept its earlier share of posts (each recent post independently)."""
    recent = [i for i in items if i["published"] > through - RECENT and i[column] is not None]
    before = [i for i in items if i["published"] <= through - RECENT and i[column] is not None]
    if not recent:
        return []  # nothing posted lately at all: not a question of mix
    found = []
    for name in names:
        if any(i[column] == name for i in recent):
            continue
        earlier = [i for i in before if i[column] == name]
        noun = "format" if column == "format" else "pillar"
        base = dict(id=f"exploration/all/days_since_last_post/{column}={name}", dimension="exploration",
                    platform=None, metric="days_since_last_post", subject={column: name}, direction="worse",
                    groups=[{"name": "posts in the last 30 days", "n": len(recent)},
                            {"name": "posts before", "n": len(before)}])
        if not earlier:
            found.append(Candidate(
                **base, effect=None, effect_kind="days", confidence="medium",
                claim=lambda c, d, q, name=name, noun=noun: f"Untested: the {noun} {name} has never been posted.",
                details={"posted_ever": 0}))
            continue
        share = len(earlier) / len(before)
        days = (through - max(i["published"] for i in earlier)).days

        def claim(c: Candidate, direction: str, q, name=name, noun=noun, share=share, days=days) -> str:
            return (f"Not posted lately: no {name} {noun} in the last 30 days ({len(recent)} posts), though it was "
                    f"{pct(share)} of earlier posts; last one {days} days ago "
                    f"(chance of such a gap if nothing changed {c.p:.2g}; {evidence_words(q, None)}).")

        found.append(Candidate(
            **base, effect=float(days), effect_kind="days", p=stats.none_in_recent(len(recent), share),
            ci_required=False, claim=claim, details={"earlier_share": share, "posted_before": len(earlier)}))
    return found


# --- 9 cross-account ------------------------------------------------------------------------------

PRINT_ALWAYS = ("format", "hook_style")   # the generator's main levers: "no evidence" is worth showing
VOCABULARY = {"hook_style": HOOK_STYLES, "cta": CTAS}
POOLED_LEVERS = ("format", "hook_style", "content_pillar", "cta", "daypart")
UNIVERSAL_SHARE = 0.8   # universal: the pooled direction holds in at least 80% of accounts (all, up to 4)
LISTED_ACCOUNTS = 6     # claims name each account's ratio up to this many accounts

Models = dict[str, dict[str, LeverModel]]   # account -> platform -> its model


def cross_account(models: Models) -> list[Candidate]:
    """Per platform, every level of every lever, pooled over accounts: each account's own
    other-things-equal estimate (log scale, so accounts of any size are comparable), combined by
    inverse-variance weighting. Universal when the accounts agree in direction; account-specific
    when Cochran's Q says the estimates differ more than their errors allow."""
    found = []
    for platform in PLATFORMS:
        strata = [(account, by_platform[platform]) for account, by_platform in sorted(models.items())
                  if platform in by_platform and len(by_platform[platform]) >= 2 * stats.MIN_GROUP]
        if len(strata) < 2:
            continue
        for lever in POOLED_LEVERS:
            seen = np.concatenate([model.labels[lever] for _, model in strata])
            for level in levels(seen, VOCABULARY.get(lever, ())):
                subject = {"local_hour_range": list(PART_BY_NAME[level])} if lever == "daypart" else {lever: level}
                found += _pooled(platform, strata, lever,
                                 lambda m, level=level: ({level}, set(m.levels[lever]) - {level}),
                                 what=f"{lever}={level}", subject=subject, name=POSTS_WITH[lever].format(v=level),
                                 keep="always" if lever in PRINT_ALWAYS else "significant")
        found += _pooled_slides(platform, strata)
        spearman = _pooled_hook_score(platform, strata)
        found += [spearman] if spearman else []
    return found


def _spread(ratios: dict[str, float]) -> str:
    if len(ratios) <= LISTED_ACCOUNTS:
        return ", ".join(f"{a} {times(r)}" for a, r in ratios.items())
    on_top = sum(r > 1 for r in ratios.values())
    return (f"{times(min(ratios.values()))} to {times(max(ratios.values()))} across {len(ratios)} accounts, "
            f"above 1x in {on_top}")


def _is_universal(effect_ci, ratios: dict[str, float]) -> bool:
    """The pooled interval excludes 1x and the accounts agree in direction (80% of them, or all with
    up to 4 accounts). Different sizes of the same effect are the -by-account finding's business."""
    if not stats.excludes(effect_ci, 1.0) or len(ratios) < 2:
        return False
    higher = effect_ci[0] > 1.0
    agree = sum((r > 1.0) == higher for r in ratios.values()) / len(ratios)
    return agree >= (1.0 if len(ratios) <= 4 else UNIVERSAL_SHARE)


def _pooled(platform, strata, lever, sides, *, what, subject, name, keep) -> list[Candidate]:
    """`sides(model)` gives the two sets of levels compared in that account."""
    metric = f"{PRIMARY_METRIC[platform]}_d7_lift"
    estimates, sizes, adjusted = {}, {}, True
    for account, model in strata:
        inside, outside = sides(model)
        n_in, n_out = model.count(lever, inside), model.count(lever, outside)
        estimate = model.compare(lever, inside, outside) if min(n_in, n_out) >= stats.MIN_GROUP else None
        if estimate is not None:
            estimates[account], sizes[account] = estimate, (n_in, n_out)
            adjusted &= model.adjusts
    pooled = stats.fixed_effect(list(estimates.values())) if len(estimates) >= 2 else None
    if pooled is None:
        return []
    effect, ci = float(np.exp(pooled.value)), (float(np.exp(pooled.ci[0])), float(np.exp(pooled.ci[1])))
    ratios = {a: float(np.exp(e.value)) for a, e in estimates.items()}
    heterogeneity = stats.heterogeneity([e.value for e in estimates.values()], [e.se for e in estimates.values()])
    universal = _is_universal(ci, ratios)
    words = f"day-7 {PRIMARY_METRIC[platform]} of other posts in the same account"
    n_in, n_out = sum(n for n, _ in sizes.values()), sum(n for _, n in sizes.values())

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"{_spread(ratios)}; {n_in} vs {n_out} posts; {evidence_words(q, c.ci)}"
        if direction != "none":
            return f"Universal: {name} get {times(c.effect)} the {words}, in every account ({numbers})."
        if stats.excludes(c.ci, 1.0):
            return f"Not universal: pooled, {name} get {times(c.effect)} the {words}, but accounts differ ({numbers})."
        return f"No clear pooled difference: {name} get {times(c.effect)} the {words} ({numbers})."

    per_account = {a: {"n": sizes[a][0], "ratio": ratios[a], "p": estimates[a].p} for a in estimates}
    main = Candidate(
        id=f"cross_account/{platform}/{metric}/{what}-vs-rest", dimension="cross_account", platform=platform,
        metric=metric, groups=[{"name": what.split("=", 1)[1], "n": n_in}, {"name": "rest", "n": n_out}],
        subject=subject, claim=claim, effect=effect, effect_kind="adjusted_ratio" if adjusted else "ratio", ci=ci,
        p=pooled.p, direction=None if universal else "none", keep=keep,
        details={"per_account": per_account, "accounts": len(estimates),
                 "pattern": "universal" if universal else "mixed", "heterogeneity_p": heterogeneity})
    typical = float(np.median(np.log(list(ratios.values()))))
    standout = max(ratios, key=lambda a: (abs(np.log(ratios[a]) - typical), a))

    def specific_claim(c: Candidate, direction: str, q) -> str:
        if q is not None and q < stats.Q_MEDIUM:
            return (f"Account-specific: how {name} do differs between accounts; {standout} stands out at "
                    f"{times(ratios[standout])} ({_spread(ratios)}; Cochran's Q across accounts, {evidence_words(q, None)}).")
        return f"No clear difference between accounts for {name} ({_spread(ratios)}; {evidence_words(q, None)})."

    specific = Candidate(
        id=f"cross_account/{platform}/{metric}/{what}-by-account", dimension="cross_account", platform=platform,
        metric=metric, groups=[{"name": a, "n": n} for a, (n, _) in sizes.items()],
        subject={**subject, "accounts": [standout]}, claim=specific_claim,
        effect=float(max(ratios.values()) / min(ratios.values())), effect_kind="ratio_spread", p=heterogeneity,
        ci_required=False, direction="none", keep="significant", details={"per_account": per_account})
    return [main, specific]


def _pooled_slides(platform, strata) -> list[Candidate]:
    """"N or more slides" against fewer, pooled; the N with the clearest split is printed."""
    counts = sorted({int(level) for _, model in strata for level in model.levels["slides"]})
    found = []
    for n in counts[1:]:
        def sides(model, n=n):
            counts = model.levels["slides"]
            return {c for c in counts if int(c) >= n}, {c for c in counts if int(c) < n}
        found += [c for c in _pooled(platform, strata, "slides", sides, what=f"slides={n}",
                                     subject={"slide_count_min": n}, name=POSTS_WITH["slides"].format(v=n),
                                     keep="significant") if c.id.endswith("-vs-rest")]
    return pick_one(found, key=lambda c: (c.p, c.id))


def _lifts(posts: PlatformPosts) -> np.ndarray:
    """Each post's log day-7 metric minus its account's median: accounts of any size side by side."""
    logged = np.log1p(posts.primary)
    return logged - np.nanmedian(logged)


def _pooled_hook_score(platform, strata) -> Candidate | None:
    """Does the hook score rank posts across accounts? Spearman on size-normalised lifts."""
    scores = np.concatenate([model.posts.hook_score for _, model in strata])
    values = np.concatenate([_lifts(model.posts) for _, model in strata])
    usable = np.isfinite(scores) & np.isfinite(values)
    result = stats.spearman(scores[usable], values[usable])
    if result is None:
        return None

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = (f"Spearman rho {c.effect:.2f}; {result.n} posts, {len(strata)} accounts; "
                   f"{evidence_words(q, c.ci, lambda v: f'{v:.2f}')}")
        if direction == "none":
            return f"Across accounts, the hook score does not clearly predict account-normalised reach ({numbers})."
        more = "more" if direction == "better" else "less"
        return f"Across accounts, higher hook scores go with {more} account-normalised reach ({numbers})."

    return Candidate(
        id=f"cross_account/{platform}/{PRIMARY_METRIC[platform]}_d7_lift/hook_score-spearman",
        dimension="cross_account", platform=platform, metric=f"{PRIMARY_METRIC[platform]}_d7_lift",
        groups=[{"name": "scored posts", "n": result.n}], subject={"hook_score": "higher"}, claim=claim,
        effect=result.rho, effect_kind="spearman_rho", ci=result.ci, p=result.p, null_value=0.0)
