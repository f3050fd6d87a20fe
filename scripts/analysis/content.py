"""What the posts are: formats (with the 80/20 view), pillars, hooks, slide counts and failures.

Every comparison is within one account and one platform, on day-7 metrics (posts at the same
age). Levers are compared other things equal (scripts/analyze_model.py); the raw medians go
with every finding so the reader sees what the posts actually got.
"""
from __future__ import annotations

import math

import numpy as np

from scripts.analysis import stats
from scripts.analysis.data import PUBLISHED_INTERACTIONS, PRIMARY_METRIC, PlatformPosts
from scripts.analysis.findings import Candidate, evidence_words, lever_claim, pct, ratio_claim, times
from scripts.analysis.model import DAYPARTS, LeverModel, daypart_name, dayparts
from scripts.store.classify import CTAS, HOOK_STYLES

PERMUTATIONS = 500         # at most this many label permutations for the 80/20 test, in batches ...
PERMUTATION_BATCH = 100    # ... that stop once EXCEEDANCES_TO_STOP permuted gaps reach the real one
EXCEEDANCES_TO_STOP = 10   # (Besag & Clifford's sequential p-value: clearly large p-values stop early)
SHARE_RESAMPLES = 400      # bootstrap resamples for the interval of the engagement share
PARETO_SHARE = 0.8         # "which formats bring 80% of the engagement"
WORST_FRACTION = 0.2       # failures: the worst fifth of posts (a decile is too few posts per account)


# how a group of posts is named in a claim, per column
POSTS_WITH = {"format": "posts in the {v} format", "content_pillar": "posts in the {v} pillar",
              "hook_style": "posts with a {v} hook", "cta": "posts with the {v} CTA",
              "daypart": "posts published {v} local time", "slides": "posts with {v}+ slides",
              "weekday": "posts published on a {v} (local time)"}
NOUNS = {"format": "format", "content_pillar": "pillar", "hook_style": "hook style", "cta": "CTA",
         "daypart": "time block", "weekday": "weekday", "slides": "slide count"}


def metric_name(platform: str) -> str:
    return f"{PRIMARY_METRIC[platform]}_d7"


def metric_words(platform: str) -> str:
    return f"day-7 {PRIMARY_METRIC[platform]}"


def levels(labels: np.ndarray, vocabulary: tuple[str, ...] = ()) -> list[str]:
    """The values seen, in vocabulary order first (a stable, meaningful order), then sorted."""
    seen = {v for v in labels if v is not None}
    return [v for v in vocabulary if v in seen] + sorted(seen - set(vocabulary))


def daypart_words(part: tuple[int, int]) -> str:
    return f"{part[0]:02d}:00–{part[1]:02d}:59 local time"


def compare(posts: PlatformPosts, in_group: np.ndarray, out_group: np.ndarray, *, dimension: str, what: str,
            subject: dict, names: tuple[str, str], words: tuple[str, str], keep: str = "always",
            values: np.ndarray | None = None, metric: str | None = None, metric_text: str | None = None,
            kind: str = "ratio") -> Candidate | None:
    """One group against another on a metric (default: the platform's day-7 primary metric)."""
    values = posts.primary if values is None else values
    known = np.isfinite(values)
    metric = metric or metric_name(posts.platform)
    fid = f"{dimension}/{posts.platform}/{metric}/{what}"
    result = stats.compare_groups(values[in_group & known], values[out_group & known], fid, kind)
    if result is None:
        return None
    return Candidate(
        id=fid, dimension=dimension, platform=posts.platform, metric=metric,
        groups=[{"name": names[0], "n": result.n_a}, {"name": names[1], "n": result.n_b}], subject=subject,
        claim=ratio_claim(words[0], words[1], metric_text or metric_words(posts.platform)),
        effect=result.effect, effect_kind="ratio_of_medians" if kind == "ratio" else "difference_of_medians",
        ci=result.ci, p=result.p, null_value=1.0 if kind == "ratio" else 0.0, keep=keep,
        details={"median": result.median_a, "median_rest": result.median_b})


def lever_candidate(model: LeverModel, lever: str, inside: set[str], outside: set[str], *, dimension: str,
                    what: str, subject: dict, names: tuple[str, str], words: tuple[str, str],
                    keep: str = "always") -> Candidate | None:
    """One lever setting against another, other things equal; None when either side has fewer
    than MIN_GROUP posts or the data cannot separate them."""
    n_in, n_out = model.count(lever, inside), model.count(lever, outside)
    if min(n_in, n_out) < stats.MIN_GROUP:
        return None
    estimate = model.compare(lever, inside, outside)
    if estimate is None:
        return None
    median, median_rest = model.medians(lever, inside, outside)
    adjusted = model.adjusted_for(lever)
    platform = model.posts.platform
    return Candidate(
        id=f"{dimension}/{platform}/{metric_name(platform)}/{what}", dimension=dimension, platform=platform,
        metric=metric_name(platform), groups=[{"name": names[0], "n": n_in}, {"name": names[1], "n": n_out}],
        subject=subject, claim=lever_claim(words[0], words[1], metric_words(platform), bool(adjusted)),
        effect=float(np.exp(estimate.value)), effect_kind="adjusted_ratio" if adjusted else "ratio",
        ci=(float(np.exp(estimate.ci[0])), float(np.exp(estimate.ci[1]))), p=estimate.p, keep=keep,
        details={"median": median, "median_rest": median_rest, "ratio_of_medians": median / median_rest
                 if median_rest > 0 else None, "adjusted_for": adjusted})


def each_level_vs_rest(model: LeverModel, lever: str, dimension: str, vocabulary: tuple[str, ...] = (),
                       keep: str = "always") -> list[Candidate]:
    found = []
    names = levels(model.labels[lever], vocabulary)
    others = f"other {NOUNS[lever]}s"
    for level in names:
        candidate = lever_candidate(model, lever, {level}, set(names) - {level}, dimension=dimension,
                                    what=f"{level}-vs-rest", subject={lever: level}, names=(level, others),
                                    words=(POSTS_WITH[lever].format(v=level), others), keep=keep)
        if candidate:
            found.append(candidate)
    return found


def best_and_worst(model: LeverModel, lever: str, *, dimension: str, what, subject, words,
                   extremes: tuple[str, ...] = ("best", "worst")) -> list[Candidate]:
    """One F test across all of the lever's levels (does it matter at all?), then the level that
    does best and/or worst against the rest. Both carry that one test's p, so picking the extremes
    after looking costs one test, not one per level. The best level is always printed, the worst
    only when the evidence is clear."""
    p = model.lever_test(lever)
    names = model.levels[lever]
    sizable = [name for name in names if min(model.count(lever, {name}), len(model) - model.count(lever, {name}))
               >= stats.MIN_GROUP]
    estimates = {name: model.compare(lever, {name}, set(names) - {name}) for name in sizable}
    estimates = {name: e for name, e in estimates.items() if e is not None}
    if p is None or len(estimates) < 2:
        return []
    chosen = {"best": max(estimates, key=lambda n: (estimates[n].value, n)),
              "worst": min(estimates, key=lambda n: (estimates[n].value, n))}
    found = []
    noun = NOUNS[lever]
    for extreme in extremes:
        name = chosen[extreme]
        c = lever_candidate(model, lever, {name}, set(names) - {name}, dimension=dimension, what=what(name),
                            subject=subject(name), names=(name, f"other {noun}s"),
                            words=(words(name), f"other {noun}s"),
                            keep="always" if extreme == "best" else "significant")
        if c:
            c.claim = lever_claim(words(name), f"other {noun}s", metric_words(model.posts.platform),
                                  bool(c.details["adjusted_for"]), test=f"F test across {len(names)} {noun}s")
            c.details.update({"level_p": c.p, "extreme": extreme})
            c.p = p
            found.append(c)
    return found


def pick_one(candidates: list[Candidate], key) -> list[Candidate]:
    """Print only the candidate chosen by key; the others still count in the BH family."""
    if not candidates:
        return []
    chosen = min(candidates, key=key)
    for c in candidates:
        c.keep = "always" if c is chosen else "never"
    return candidates


# --- 1 formats and 3 pillars: the 80/20 view ------------------------------------------------------

def _permutation_p(codes: np.ndarray, values: np.ndarray, post_share: np.ndarray, gap: float,
                   rng: np.random.Generator) -> float:
    """How often shuffled labels give an engagement mix at least as far from the post mix."""
    k, batch = len(post_share), np.tile(codes, (PERMUTATION_BATCH, 1))
    offsets = k * np.arange(PERMUTATION_BATCH)[:, None]
    weights, total = np.tile(values, PERMUTATION_BATCH), values.sum()
    done = exceed = 0
    while done < PERMUTATIONS:
        shuffled = rng.permuted(batch, axis=1) + offsets
        share = np.bincount(shuffled.ravel(), weights=weights, minlength=k * PERMUTATION_BATCH).reshape(-1, k) / total
        exceed += int((0.5 * np.abs(share - post_share).sum(axis=1) >= gap - 1e-12).sum())
        done += PERMUTATION_BATCH
        if exceed >= EXCEEDANCES_TO_STOP:
            return exceed / done
    return (exceed + 1) / (done + 1)


def pareto(posts: PlatformPosts, column: str, dimension: str, plural: str, noun: str) -> Candidate | None:
    """Which levels bring more than their share of engagement (80/20). The test statistic is the
    gap between the engagement mix and the post mix (total variation distance); its p comes from
    permuting labels over posts, so picking the top levels after looking is accounted for."""
    labels, engagement = posts.text[column], posts.interactions()
    usable = (labels != None) & np.isfinite(engagement)  # noqa: E711
    names = levels(labels[usable])
    codes = np.array([names.index(v) for v in labels[usable]], dtype=int)
    values = engagement[usable]
    total = values.sum()
    if len(names) < 2 or len(values) < 2 * stats.MIN_GROUP or total <= 0:
        return None
    post_share = np.bincount(codes, minlength=len(names)) / len(codes)
    eng_share = np.bincount(codes, weights=values, minlength=len(names)) / total
    over = [i for i in np.argsort(-eng_share, kind="stable") if eng_share[i] > post_share[i]]
    fid = f"{dimension}/{posts.platform}/share_of_engagement/top-{plural}"
    rng = np.random.default_rng(stats.seed_for(fid))
    p = _permutation_p(codes, values, post_share, 0.5 * np.abs(eng_share - post_share).sum(), rng)
    in_top = np.isin(codes, over)
    picks = rng.integers(0, len(values), size=(SHARE_RESAMPLES, len(values)))
    resampled = values[picks]
    boot = (resampled * in_top[picks]).sum(axis=1) / resampled.sum(axis=1)
    ci = stats.percentile_ci(boot)
    top = [names[i] for i in over]
    cumulative = np.cumsum(np.sort(eng_share)[::-1])
    needed = int(np.searchsorted(cumulative, PARETO_SHARE - 1e-9) + 1)
    share, of_posts = float(eng_share[over].sum()), float(post_share[over].sum())
    kinds = " + ".join(PUBLISHED_INTERACTIONS[posts.platform])

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"{len(values)} posts; {evidence_words(q, c.ci, pct)}"
        lead = (f"{', '.join(top)} bring {pct(share)} of day-7 engagement ({kinds}) from {pct(of_posts)} of posts; "
                f"{needed} of {len(names)} {noun}s make up {pct(PARETO_SHARE)} of it")
        if direction == "none":
            return f"No clear 80/20 pattern: {lead} ({numbers})."
        return f"{lead} ({numbers})."

    return Candidate(
        id=fid, dimension=dimension, platform=posts.platform, metric="share_of_engagement",
        groups=[{"name": "+".join(top), "n": int(in_top.sum())}, {"name": "rest", "n": int((~in_top).sum())}],
        subject={plural: top}, claim=claim, effect=share, effect_kind="share", ci=ci, p=p, null_value=of_posts,
        one_sided=True,
        details={"by_" + column: {n: {"posts": int((codes == i).sum()), "share_of_posts": float(post_share[i]),
                                      "share_of_engagement": float(eng_share[i])} for i, n in enumerate(names)},
                 f"{plural}_for_80_percent": needed, "share_of_posts": of_posts})


def formats(model: LeverModel) -> list[Candidate]:
    found = each_level_vs_rest(model, "format", "formats")
    top = pareto(model.posts, "format", "formats", "formats", "format")
    return found + ([top] if top else [])


def pillars(model: LeverModel) -> list[Candidate]:
    found = each_level_vs_rest(model, "content_pillar", "pillars")
    top = pareto(model.posts, "content_pillar", "pillars", "content_pillars", "pillar")
    return found + ([top] if top else [])


# --- 5 hooks ---------------------------------------------------------------------------------------

def hooks(model: LeverModel) -> list[Candidate]:
    """Each hook style against the others (other things equal), and the hook score against the
    day-7 metric (Spearman, as the score is meant to rank hooks)."""
    posts = model.posts
    found = each_level_vs_rest(model, "hook_style", "hooks", HOOK_STYLES)
    usable = np.isfinite(posts.hook_score) & np.isfinite(posts.primary)
    result = stats.spearman(posts.hook_score[usable], posts.primary[usable])
    if result is None:
        return found
    words = metric_words(posts.platform)

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"Spearman rho {c.effect:.2f}; {result.n} posts; {evidence_words(q, c.ci, lambda v: f'{v:.2f}')}"
        if direction == "better":
            return f"Higher hook scores go with more {words} ({numbers})."
        if direction == "worse":
            return f"Higher hook scores go with fewer {words}: the score misjudges hooks ({numbers})."
        return f"The hook score does not clearly predict {words} ({numbers})."

    found.append(Candidate(
        id=f"hooks/{posts.platform}/{metric_name(posts.platform)}/hook_score-spearman", dimension="hooks",
        platform=posts.platform, metric=metric_name(posts.platform), groups=[{"name": "scored posts", "n": result.n}],
        subject={"hook_score": "higher"}, claim=claim, effect=result.rho, effect_kind="spearman_rho",
        ci=result.ci, p=result.p, null_value=0.0))
    return found


# --- 6 slide count -----------------------------------------------------------------------------

def _slide_optimum_by_format(posts: PlatformPosts) -> dict:
    """Per format: the median metric at each slide count (3+ posts), and the best count. Descriptive:
    too few posts per cell for a test, so it lives in the details."""
    table = {}
    for fmt in levels(posts.text["format"]):
        mine = (posts.text["format"] == fmt) & np.isfinite(posts.slide_count) & np.isfinite(posts.primary)
        counts = {int(c): posts.primary[mine & (posts.slide_count == c)] for c in np.unique(posts.slide_count[mine])}
        medians = {c: float(np.median(v)) for c, v in counts.items() if len(v) >= 3}
        if medians:
            table[fmt] = {"best": max(medians, key=lambda c: (medians[c], -c)),
                          "median_by_count": {str(c): m for c, m in medians.items()},
                          "posts_by_count": {str(c): len(counts[c]) for c in medians}}
    return table


def slide_count(model: LeverModel) -> tuple[list[Candidate], int | None]:
    """The threshold finding ("N+ slides do worse", the N with the clearest split; every N tried
    counts in the BH family) and the best single count (F test across counts, then the count that
    does best against the rest). Returns the threshold. Other things equal throughout."""
    counts = [int(level) for level in model.levels["slides"]]
    thresholds = []
    for n in counts[1:]:
        above, below = {str(c) for c in counts if c >= n}, {str(c) for c in counts if c < n}
        c = lever_candidate(model, "slides", above, below, dimension="slide_count", what=f"{n}_plus-vs-fewer",
                            subject={"slide_count_min": n}, names=(f"{n}+ slides", f"under {n} slides"),
                            words=(f"posts with {n}+ slides", "posts with fewer"))
        if c:
            thresholds.append(c)
    best = best_and_worst(model, "slides", dimension="slide_count", what=lambda level: f"{level}-vs-rest",
                          subject=lambda level: {"slide_count": int(level)},
                          words=lambda level: f"posts with {level} slides", extremes=("best",))
    pick_one(thresholds, key=lambda c: (c.p, c.id))
    for c in best:
        c.details["by_format"] = _slide_optimum_by_format(model.posts)
    chosen = next((c.subject["slide_count_min"] for c in thresholds if c.keep == "always"), None)
    return thresholds + best, chosen


# --- 2 failures --------------------------------------------------------------------------------

TRAIT_WORDS = {
    "format": "are {v} posts", "hook_style": "open with a {v} hook", "content_pillar": "are about {v}",
    "cta": "end with a {v} call to action", "daypart": "were posted {v}", "slides": "have {v}+ slides",
}


def failures(posts: PlatformPosts, slide_threshold: int | None) -> list[Candidate]:
    """The worst fifth of posts: which traits are over-represented among them (one-sided Fisher
    exact test per trait, odds ratio with a Woolf interval)."""
    values = posts.primary
    usable = np.flatnonzero(np.isfinite(values))
    if len(usable) < stats.MIN_GROUP / WORST_FRACTION:
        return []
    order = usable[np.lexsort((posts.post_id[usable].astype(str), values[usable]))]
    worst = np.zeros(len(posts), dtype=bool)
    worst[order[:math.ceil(WORST_FRACTION * len(usable))]] = True
    parts = dayparts(posts)
    # (attribute, posts where it is known, [(value in words, value in the id, subject, posts that have it)])
    traits: list[tuple[str, np.ndarray, list[tuple[str, str, dict, np.ndarray]]]] = []
    for column in ("format", "hook_style", "content_pillar", "cta"):
        labels = posts.text[column]
        vocabulary = HOOK_STYLES if column == "hook_style" else CTAS if column == "cta" else ()
        traits.append((column, labels != None,  # noqa: E711
                       [(level, level, {column: level}, labels == level) for level in levels(labels, vocabulary)]))
    traits.append(("daypart", parts >= 0, [(daypart_words(part), daypart_name(part), {"local_hour_range": list(part)},
                                            parts == i) for i, part in enumerate(DAYPARTS)]))
    if slide_threshold is not None:
        known = np.isfinite(posts.slide_count)
        n = str(slide_threshold)
        traits.append(("slides", known, [(n, n, {"slide_count_min": slide_threshold},
                                          known & (posts.slide_count >= slide_threshold))]))
    found = []
    for column, known, values_of in traits:
        scope = known & np.isfinite(values)
        usable = [trait for trait in values_of if trait[3][scope].sum() >= stats.MIN_GROUP / 2]
        if not usable or worst[scope].sum() < stats.MIN_GROUP:
            continue
        results = stats.over_representation(np.array([has[scope] for *_, has in usable]), worst[scope])
        for (words, what, subject, has), result in zip(usable, results):
            found.append(_failure_candidate(posts, f"{column}={what}", TRAIT_WORDS[column].format(v=words),
                                            subject, result, has & worst))
    return found


def _failure_candidate(posts: PlatformPosts, what: str, trait: str, subject: dict, result, examples_mask) -> Candidate:
    in_worst = result.selected_with / result.selected
    in_rest = result.rest_with / result.rest if result.rest else 0.0

    def claim(c: Candidate, direction: str, q) -> str:
        numbers = f"odds ratio {times(c.effect)}; {evidence_words(q, c.ci)}"
        lead = (f"{pct(in_worst)} of the worst fifth of posts ({result.selected}, by {metric_words(posts.platform)}) "
                f"{trait}, against {pct(in_rest)} of the other {result.rest}")
        if direction == "none":
            return f"No clear failure pattern: {lead} ({numbers})."
        return f"A failure pattern: {lead} ({numbers})."

    examples = [str(p) for p, v in sorted(zip(posts.post_id[examples_mask], posts.primary[examples_mask]),
                                          key=lambda pair: (pair[1], pair[0]))[:5]]
    return Candidate(
        id=f"failures/{posts.platform}/{metric_name(posts.platform)}/{what}-in-worst-fifth", dimension="failures",
        platform=posts.platform, metric=metric_name(posts.platform),
        groups=[{"name": "worst fifth", "n": result.selected}, {"name": "other posts", "n": result.rest}],
        subject=subject, claim=claim, effect=result.odds_ratio, effect_kind="odds_ratio", ci=result.ci,
        p=result.p, higher_is="worse", one_sided=True, keep="best:failures",
        details={"share_in_worst": in_worst, "share_in_rest": in_rest, "worst_examples": examples})
