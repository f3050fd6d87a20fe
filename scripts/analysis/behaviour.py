"""How the audience responds: save vs share, timing and posting frequency, growth curves."""
from __future__ import annotations

from datetime import timedelta

import numpy as np

from scripts.analysis import stats
from scripts.analysis.content import (NOUNS, POSTS_WITH, best_and_worst, daypart_words, lever_candidate, levels,
                                     metric_name, metric_words)
from scripts.analysis.levers import Evidence, lever_metrics
from scripts.analysis.model import PART_BY_NAME, RATE_METRICS, LeverModel
from scripts.analysis.data import EARLY_AGE, PRIMARY_METRIC, PlatformPosts, PublishedPost
from scripts.analysis.findings import Candidate, evidence_words, num, pct
from scripts.store.classify import CTAS

NO_CTA = "none"   # the CTA class of a caption without a call to action ...
assert NO_CTA in CTAS, "scripts/classify.py renamed its no-CTA class"  # ... as scripts/classify.py names it
LONG_TAIL_SHARE = 0.5    # a post that gets half or more of its late-age metric after day 3 has a long tail
FREQUENCY_WINDOW = timedelta(days=7)


# --- 4 save vs share ---------------------------------------------------------------------------

def _rates(posts: PlatformPosts) -> dict[str, np.ndarray] | None:
    views, saves, shares = posts.day7["views"], posts.day7["saves"], posts.day7["shares"]
    usable = np.isfinite(views) & np.isfinite(saves) & np.isfinite(shares) & (views > 0)
    if usable.sum() < 2 * stats.MIN_GROUP:
        return None  # Instagram publishes neither saves nor shares: nothing to compare there
    with np.errstate(divide="ignore", invalid="ignore"):
        # +0.5 keeps a post with no shares (or saves) comparable on the log scale
        return {"usable": usable,
                "save_lean": np.where(usable, np.log((saves + 0.5) / views) - np.log((shares + 0.5) / views), np.nan)}


def save_vs_share(ev: Evidence, models: dict[str, LeverModel]) -> list[Candidate]:
    """Save and share rates by CTA and by format, each level against the lever's other levels,
    other things equal (the log rate per view in the lever model, pooled across accounts)."""
    found = []
    for metric in RATE_METRICS:
        if metric not in models:
            continue
        for lever, vocabulary in (("cta", CTAS), ("format", ())):
            model, noun = models[metric], NOUNS[lever]
            for level in levels(model.labels[lever], vocabulary):
                c = lever_candidate(ev, model, lever, level, dimension="save_vs_share",
                                    what=f"{lever}={level}-vs-rest", subject={lever: level},
                                    names=(level, f"other {noun}s"),
                                    words=(POSTS_WITH[lever].format(v=level), f"your other {noun}s"),
                                    keep=f"best:{metric}-{lever}")
                if c:
                    found.append(c)
    posts = next(iter(models.values())).posts
    rates = _rates(posts)
    summary = _post_types(posts, rates) if rates is not None else None
    return found + ([summary] if summary else [])


def _post_types(posts: PlatformPosts, rates: dict) -> Candidate | None:
    """Each post is save-driven or share-driven: is its saves-to-shares balance above or below the
    account's usual one? Whether the CTA changes the mix is a chi-square test of independence."""
    usable = rates["usable"]
    lean = rates["save_lean"] - np.nanmedian(rates["save_lean"])
    save_driven = usable & (lean > 0)
    by = {}
    for column in ("cta", "format"):
        labels = posts.text[column]
        by[column] = {level: {"posts": int((usable & (labels == level)).sum()),
                              "save_driven": int((save_driven & (labels == level)).sum())}
                      for level in levels(labels[usable], CTAS if column == "cta" else ())}
    table = np.array([[v["save_driven"], v["posts"] - v["save_driven"]] for v in by["cta"].values()
                      if v["posts"] >= stats.MIN_GROUP])
    if len(table) < 2 or table.sum(axis=0).min() == 0:
        return None
    p, cramers_v = stats.chi_square_independence(table)
    leaning = {k: v["save_driven"] / v["posts"] for k, v in by["cta"].items() if v["posts"] >= stats.MIN_GROUP}
    most, least = max(leaning, key=lambda k: (leaning[k], k)), min(leaning, key=lambda k: (leaning[k], k))
    n_save, n = int(save_driven.sum()), int(usable.sum())
    examples = {kind: [str(pid) for _, pid in sorted(zip(sign * lean[mask], posts.post_id[mask]), reverse=True)[:3]]
                for kind, sign, mask in (("save_driven", 1, save_driven), ("share_driven", -1, usable & ~save_driven))}

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"Cramér's V {cramers_v:.2f}; {evidence_words(q, None)}"
        mix = (f"{n_save} of {n} posts are save-driven and {n - n_save} share-driven (saves against shares, "
               f"relative to the account's usual balance)")
        if q is not None and q < stats.Q_MEDIUM:
            return (f"{mix}; the CTA changes the mix: {pct(leaning[most])} save-driven with {most}, "
                    f"{pct(leaning[least])} with {least} ({numbers}).")
        return f"{mix}; no clear link to the CTA ({numbers})."

    return Candidate(
        id=f"save_vs_share/{posts.platform}/save_lean_d7/post_type-by-cta", dimension="save_vs_share",
        platform=posts.platform,
        metric="save_lean_d7", groups=[{"name": "save-driven", "n": n_save}, {"name": "share-driven", "n": n - n_save}],
        subject={"post_types": ["save_driven", "share_driven"]}, claim=claim, effect=cramers_v,
        effect_kind="cramers_v", p=p, ci_required=False, direction="none",
        details={"by_cta": by["cta"], "by_format": by["format"], "examples": examples})


# --- 7 timing ----------------------------------------------------------------------------------

def timing(ev: Evidence, models: dict[str, LeverModel], published: list[PublishedPost]) -> list[Candidate]:
    """Time of day (4-hour local blocks) and weekday, other things equal, the best and worst picked
    honestly among the blocks (on the platform's metric, and engagement per view where known);
    posting frequency."""
    found = []
    for metric in lever_metrics(list(models)):
        model = models[metric]
        found += best_and_worst(ev, model, "daypart", dimension="timing", what=lambda name: f"hours_{name}-vs-rest",
                                subject=lambda name: {"local_hour_range": list(PART_BY_NAME[name])},
                                words=lambda name: f"posts published {daypart_words(PART_BY_NAME[name])}")
        found += best_and_worst(ev, model, "weekday", dimension="timing", what=lambda name: f"{name.lower()}-vs-rest",
                                subject=lambda name: {"weekday": name},
                                words=lambda name: f"posts published on a {name} (local time)")
    frequency = _frequency(next(iter(models.values())).posts, published)
    return found + ([frequency] if frequency else [])


def _frequency(posts: PlatformPosts, published: list[PublishedPost]) -> Candidate | None:
    """Posting frequency against engagement: how many posts went out on this platform in the 7 days
    up to each post (itself included), against its day-7 metric (Spearman)."""
    times = np.array(sorted(p.published.timestamp() for p in published if p.platform == posts.platform))
    own = {p.post_id: p.published.timestamp() for p in published if p.platform == posts.platform}
    moments = np.array([own.get(pid, np.nan) for pid in posts.post_id])
    usable = np.isfinite(moments) & np.isfinite(posts.primary)
    busy = (np.searchsorted(times, moments[usable], side="right")
            - np.searchsorted(times, moments[usable] - FREQUENCY_WINDOW.total_seconds(), side="right"))
    result = stats.spearman(busy, posts.primary[usable])
    if result is None:
        return None
    words = metric_words(posts.platform)

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = (f"Spearman rho {c.effect:.2f}; {result.n} posts, {num(float(np.median(busy)))} posts a week "
                   f"typical; {evidence_words(q, c.ci, lambda v: f'{v:.2f}')}")
        if direction == "better":
            return f"Posts from busier weeks get more {words}: no sign of diminishing returns ({numbers})."
        if direction == "worse":
            return f"Diminishing returns: posts from busier weeks get fewer {words} ({numbers})."
        return f"Posting frequency shows no clear link to {words} ({numbers})."

    return Candidate(
        id=f"timing/{posts.platform}/{metric_name(posts.platform)}/posts_per_7_days-spearman", dimension="timing",
        platform=posts.platform, metric=metric_name(posts.platform), groups=[{"name": "posts", "n": result.n}],
        subject={"posts_per_7_days": "more"}, claim=claim, effect=result.rho, effect_kind="spearman_rho",
        ci=result.ci, p=result.p, null_value=0.0,
        details={"posts_per_7_days": {"min": int(busy.min()), "median": float(np.median(busy)),
                                      "max": int(busy.max())}})


# --- 8 growth curves ---------------------------------------------------------------------------

def growth(posts: PlatformPosts) -> list[Candidate]:
    """Long tail against spike-and-die: the share of a post's metric at the late age that came after
    day 3, per format against the other formats (difference of medians)."""
    metric, age = PRIMARY_METRIC[posts.platform], posts.late_age
    if age is None:
        return []
    early, late = posts.growth[(metric, EARLY_AGE)], posts.growth[(metric, age)]
    usable = np.isfinite(early) & np.isfinite(late) & (late > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        late_share = np.where(usable, (late - early) / late, np.nan)
    labels = posts.text["format"]
    known = usable & (labels != None)  # noqa: E711
    long_tail = known & (late_share >= LONG_TAIL_SHARE)
    tails = {level: {"posts": int((known & (labels == level)).sum()),
                     "long_tail": int((long_tail & (labels == level)).sum())} for level in levels(labels[known])}
    metric_id = f"late_share_d{EARLY_AGE}_d{age}"
    compared = stats.versus_typical_group({level: late_share[known & (labels == level)] for level in levels(labels[known])},
                                          f"growth/{posts.platform}/{metric_id}")
    found = []
    for level, result in compared.items():
        found.append(Candidate(
            id=f"growth/{posts.platform}/{metric_id}/{level}-vs-rest", dimension="growth", platform=posts.platform,
            metric=metric_id, groups=[{"name": level, "n": result.n_a}, {"name": "other formats", "n": result.n_b}],
            subject={"format": level}, claim=_growth_claim(level, metric, EARLY_AGE, age), effect=result.effect,
            effect_kind="difference_of_medians", ci=result.ci, p=result.p, null_value=0.0, keep="best:growth",
            details={"median": result.median_a, "median_rest": result.median_b, "baseline": "the typical format",
                     "long_tail_posts": tails}))
    return found


def _growth_claim(level: str, metric: str, early_age: int, late_age: int):
    def claim(c: Candidate, direction: str, q) -> str:
        d = c.details
        numbers = (f"difference {100 * c.effect:+.0f} points; {c.groups[0]['n']} vs {c.groups[1]['n']} posts seen "
                   f"at day {early_age} and day {late_age}; {evidence_words(q, c.ci, lambda v: f'{100 * v:+.0f}')}")
        shares = (f"{level} posts get {pct(d['median'])} of their day-{late_age} {metric} after day {early_age}, "
                  f"the typical format {pct(d['median_rest'])}")
        if direction == "better":
            return f"Long tail: {shares} ({numbers})."
        if direction == "worse":
            return f"Spike and die: {shares} ({numbers})."
        return f"No clear difference in growth: {shares} ({numbers})."
    return claim
