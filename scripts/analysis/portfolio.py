"""The account's portfolio over time (exploration vs exploitation) and patterns across accounts."""
from __future__ import annotations

from datetime import timedelta

import numpy as np

from scripts.analysis import stats
from scripts.analysis.content import METRIC_WORDS, POSTS_WITH, levels, pick_one, sidak, sidak_tail
from scripts.analysis.data import PRIMARY_METRIC, AccountData, PlatformPosts
from scripts.analysis.levers import SLIDE_CUTS, Key
from scripts.analysis.model import PART_BY_NAME, RATE_METRICS, LeverModel
from scripts.analysis.pooling import Family
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
LISTED_ACCOUNTS = 6     # claims name each account's ratio up to this many accounts


def hook_score_posts(models: dict[str, dict[str, LeverModel]]) -> dict[str, PlatformPosts]:
    """An account's posts per platform that enter the cross-account hook-score test: platforms whose
    model of the platform's metric has enough posts (models: platform -> metric -> its model)."""
    return {platform: by_metric[f"{PRIMARY_METRIC[platform]}_d7"].posts for platform, by_metric in models.items()
            if len(by_metric.get(f"{PRIMARY_METRIC[platform]}_d7", ())) >= 2 * stats.MIN_GROUP}


def cross_account(families: dict[Key, Family], hook_posts: dict[str, dict[str, PlatformPosts]]) -> list[Candidate]:
    """Per platform and metric, every level of every lever across accounts: the common effect of the
    partially pooled model (each account's own other-things-equal estimate, log scale, so accounts
    of any size are comparable). Universal only when the common effect is clear and every account's
    own estimate points the same way; account-specific when Cochran's Q says the accounts differ
    more than their errors allow. hook_posts: account -> hook_score_posts of its models."""
    found = []
    for (platform, metric, lever), family in sorted(families.items()):
        if metric in RATE_METRICS or (lever not in POOLED_LEVERS and lever != SLIDE_CUTS):
            continue
        primary = metric == f"{PRIMARY_METRIC[platform]}_d7"
        if lever == SLIDE_CUTS:
            found += _pooled_cuts(platform, metric, family)
            continue
        for level in levels(np.array(list(family.common), dtype=object), VOCABULARY.get(lever, ())):
            subject = {"local_hour_range": list(PART_BY_NAME[level])} if lever == "daypart" else {lever: level}
            found += _pooled(platform, metric, family, level, what=f"{lever}={level}", subject=subject,
                             name=POSTS_WITH[lever].format(v=level),
                             keep="always" if lever in PRINT_ALWAYS and primary else "significant")
    for platform in PLATFORMS:
        strata = [(account, by_platform[platform]) for account, by_platform in sorted(hook_posts.items())
                  if platform in by_platform]
        spearman = _pooled_hook_score(platform, strata) if len(strata) >= 2 else None
        found += [spearman] if spearman else []
    return found


def _spread(ratios: dict[str, float]) -> str:
    if len(ratios) <= LISTED_ACCOUNTS:
        return ", ".join(f"{a} {times(r)}" for a, r in ratios.items())
    on_top = sum(r > 1 for r in ratios.values())
    return (f"{times(min(ratios.values()))} to {times(max(ratios.values()))} across {len(ratios)} accounts, "
            f"above 1x in {on_top}")


def _pooled(platform, metric, family: Family, level: str, *, what, subject, name, keep,
            choices: int = 1) -> list[Candidate]:
    shrunk = family.accounts_with(level)
    if len(shrunk) < 2:
        return []
    common = family.common[level]
    low, high = common.interval(sidak_tail(choices))
    effect, ci = float(np.exp(common.mean)), (float(np.exp(low)), float(np.exp(high)))
    p = sidak(min(1.0, 2 * common.lfsr), choices)
    ratios = {a: float(np.exp(s.own.value)) for a, s in shrunk.items()}
    higher = common.mean > 0
    universal = stats.excludes(ci, 1.0) and all((r > 1.0) == higher for r in ratios.values())
    heterogeneity = stats.heterogeneity([s.own.value for s in shrunk.values()], [s.own.se for s in shrunk.values()])
    words = f"{METRIC_WORDS[metric]} of other posts in the same account"
    n_in, n_out = sum(s.own.n_in for s in shrunk.values()), sum(s.own.n_out for s in shrunk.values())
    lift = f"{metric}_lift"

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"each account's own estimate: {_spread(ratios)}; {n_in} vs {n_out} posts; {evidence_words(q, c.ci)}"
        if direction != "none":
            verb = "may get" if c.assigned == "low" else "get"
            return f"Universal: {name} {verb} {times(c.effect)} the {words}, in every account ({numbers})."
        if stats.excludes(c.ci, 1.0):
            return (f"Not universal: pooled, {name} get {times(c.effect)} the {words}, but not every account "
                    f"agrees ({numbers}).")
        return f"No clear pooled difference: {name} get {times(c.effect)} the {words} ({numbers})."

    per_account = {a: {"n": s.own.n_in, "ratio": ratios[a], "pooled_ratio": float(np.exp(s.posterior.mean)),
                       "borrowed": s.borrowed} for a, s in shrunk.items()}
    main = Candidate(
        id=f"cross_account/{platform}/{lift}/{what}-vs-rest", dimension="cross_account", platform=platform,
        metric=lift, groups=[{"name": what.split("=", 1)[1], "n": n_in}, {"name": "rest", "n": n_out}],
        subject=subject, claim=claim, effect=effect, effect_kind="adjusted_ratio", ci=ci, p=p,
        direction=None if universal else "none", keep=keep, hedges=True,
        details={"per_account": per_account, "accounts": len(shrunk), "tau": family.tau_median,
                 "pattern": "universal" if universal else "mixed", "heterogeneity_p": heterogeneity,
                 "baseline": "the other levels, taken equally", **({"chosen_from": choices} if choices > 1 else {})})
    typical = float(np.median(np.log(list(ratios.values()))))
    standout = max(ratios, key=lambda a: (abs(np.log(ratios[a]) - typical), a))

    def specific_claim(c: Candidate, direction: str, q) -> str:
        if q is not None and q < stats.Q_MEDIUM:
            return (f"Account-specific: how {name} do differs between accounts; {standout} stands out at "
                    f"{times(ratios[standout])} ({_spread(ratios)}; Cochran's Q across accounts, {evidence_words(q, None)}).")
        return f"No clear difference between accounts for {name} ({_spread(ratios)}; {evidence_words(q, None)})."

    specific = Candidate(
        id=f"cross_account/{platform}/{lift}/{what}-by-account", dimension="cross_account", platform=platform,
        metric=lift, groups=[{"name": a, "n": s.own.n_in} for a, s in shrunk.items()],
        subject={**subject, "accounts": [standout]}, claim=specific_claim,
        effect=float(max(ratios.values()) / min(ratios.values())), effect_kind="ratio_spread", p=heterogeneity,
        ci_required=False, direction="none", keep="significant", details={"per_account": per_account})
    return [main, specific]


def _pooled_cuts(platform, metric, family: Family) -> list[Candidate]:
    """"N or more slides" against fewer, pooled; the N with the clearest split is printed, with an
    interval and p that account for choosing it among the cuts."""
    found = []
    for n in sorted(family.common, key=int):
        found += [c for c in _pooled(platform, metric, family, n, what=f"slides={n}", subject={"slide_count_min": int(n)},
                                     name=POSTS_WITH["slides"].format(v=n), keep="significant",
                                     choices=len(family.common)) if c.id.endswith("-vs-rest")]
    return pick_one(found, key=lambda c: (c.p, c.id))


def _lifts(posts: PlatformPosts) -> np.ndarray:
    """Each post's log day-7 metric minus its account's median: accounts of any size side by side."""
    logged = np.log1p(posts.primary)
    return logged - np.nanmedian(logged)


def _pooled_hook_score(platform, strata) -> Candidate | None:
    """Does the hook score rank posts across accounts? Spearman on size-normalised lifts."""
    scores = np.concatenate([posts.hook_score for _, posts in strata])
    values = np.concatenate([_lifts(posts) for _, posts in strata])
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
