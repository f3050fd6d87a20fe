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
from scipy import special

from scripts.analysis.findings import Candidate, evidence_words, lever_claim, pct, times
from scripts.analysis.levers import PAIR_ALPHA, SLIDE_CUTS, Evidence, lever_metrics, slide_cuts
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


# how each model metric is named in a claim
METRIC_WORDS = {"views_d7": "day-7 views", "likes_d7": "day-7 likes",
                "engagement_rate_d7": "engagement per view (likes, comments, shares and saves at day 7)",
                "saves_per_view_d7": "save rate (saves per view at day 7)",
                "shares_per_view_d7": "share rate (shares per view at day 7)"}


def metric_name(platform: str) -> str:
    return f"{PRIMARY_METRIC[platform]}_d7"


def metric_words(platform: str, metric: str | None = None) -> str:
    return METRIC_WORDS[metric or metric_name(platform)]


def levels(labels: np.ndarray, vocabulary: tuple[str, ...] = ()) -> list[str]:
    """The values seen, in vocabulary order first (a stable, meaningful order), then sorted."""
    seen = {v for v in labels if v is not None}
    return [v for v in vocabulary if v in seen] + sorted(seen - set(vocabulary))


def daypart_words(part: tuple[int, int]) -> str:
    return f"{part[0]:02d}:00–{part[1]:02d}:59 local time"


def sidak(p: float, choices: int) -> float:
    """The p of the best of `choices` comparisons (Sidak): picking the extreme after looking costs
    one test per choice."""
    return p if choices <= 1 else float(-np.expm1(choices * np.log1p(-min(p, 1 - 1e-16))))


def sidak_tail(choices: int) -> float:
    """The tail of an interval that keeps its CI_LEVEL coverage for whichever of `choices` is picked."""
    alpha = 1 - stats.CI_LEVEL
    return (1 - (1 - alpha) ** (1 / max(choices, 1))) / 2


def lever_candidate(ev: Evidence, model: LeverModel, lever: str, level: str, *, dimension: str, what: str,
                    subject: dict, names: tuple[str, str], words: tuple[str, str], keep: str = "always",
                    choices: int = 1, family: str | None = None) -> Candidate | None:
    """One lever level against the lever's other levels (taken equally), other things equal, from the
    account's estimate pooled with its siblings'. `choices`: how many levels this one was picked
    among (its interval and p then account for the pick). None without a usable estimate."""
    platform, metric = model.posts.platform, model.metric
    key = (platform, metric, family or lever)
    shrunk = ev.level(key, level)
    if shrunk is None:
        return None
    post, own = shrunk.posterior, shrunk.own
    low, high = post.interval(sidak_tail(choices))
    higher = post.mean > 0
    guard_p, helper = (None, None) if family == SLIDE_CUTS else ev.guard(key, level, higher)
    p = sidak(max(min(1.0, 2 * post.lfsr), guard_p or 0.0), choices)
    apart = guard_p is None or guard_p < PAIR_ALPHA
    inside, outside = ({level}, set(model.sizable(lever)) - {level}) if family is None \
        else slide_cuts(model)[int(level)]
    median, median_rest = model.medians(lever, inside, outside)
    adjusted = model.adjusted_for(lever)
    own_ci = (own.value - stats.z_quantile() * own.se, own.value + stats.z_quantile() * own.se)
    return Candidate(
        id=f"{dimension}/{platform}/{metric}/{what}", dimension=dimension, platform=platform, metric=metric,
        groups=[{"name": names[0], "n": own.n_in}, {"name": names[1], "n": own.n_out}], subject=subject,
        claim=lever_claim(words[0], words[1], metric_words(platform, metric), bool(adjusted)),
        effect=float(np.exp(post.mean)), effect_kind="adjusted_ratio" if adjusted else "ratio",
        ci=(float(np.exp(low)), float(np.exp(high))), p=p, keep=keep,
        direction=None if apart else "none", confidence=None if apart else "low",
        own_agrees=(own.value > 0) == higher, hedges=True,
        details={"median": median, "median_rest": median_rest,
                 "ratio_of_medians": median / median_rest if median_rest > 0 else None, "adjusted_for": adjusted,
                 "baseline": "the other levels, taken equally" if family is None else "posts with fewer slides",
                 "own": {"effect": float(np.exp(own.value)), "ci": [float(np.exp(v)) for v in own_ci],
                         "p": float(2 * special.ndtr(-abs(own.value) / own.se))},
                 "pooled": {"accounts": shrunk.accounts, "borrowed": shrunk.borrowed, "tau": ev.tau(key)},
                 **({"chosen_from": choices} if choices > 1 else {}),
                 **({"guard": {"left_out": helper, "p": guard_p}} if helper else {}),
                 **({"standout": helper} if not apart else {})})


def each_level(ev: Evidence, models: dict[str, LeverModel], lever: str, dimension: str,
               vocabulary: tuple[str, ...] = (), metrics: list[str] | None = None) -> list[Candidate]:
    """Every level of a lever against its other levels, on each of the lever metrics (the platform's
    own metric always printed; engagement only when it is clear)."""
    found = []
    for i, metric in enumerate(metrics or lever_metrics(list(models))):
        model = models[metric]
        noun = NOUNS[lever]
        for level in levels(model.labels[lever], vocabulary):
            c = lever_candidate(ev, model, lever, level, dimension=dimension, what=f"{level}-vs-rest",
                                subject={lever: level}, names=(level, f"other {noun}s"),
                                words=(POSTS_WITH[lever].format(v=level), f"your other {noun}s"),
                                keep="always" if i == 0 else "significant")
            if c:
                found.append(c)
    return found


def best_and_worst(ev: Evidence, model: LeverModel, lever: str, *, dimension: str, what, subject, words,
                   extremes: tuple[str, ...] = ("best", "worst")) -> list[Candidate]:
    """The level that does best and/or worst against the others. Its p and interval account for
    picking it among all the levels (Sidak), so the winner's interval is not the naive one. The best
    level is always printed, the worst only when the evidence is clear."""
    estimates = ev.levels((model.posts.platform, model.metric, lever))
    if len(estimates) < 2:
        return []
    means = {name: s.posterior.mean for name, s in estimates.items()}
    chosen = {"best": max(means, key=lambda n: (means[n], n)), "worst": min(means, key=lambda n: (means[n], n))}
    found = []
    noun = NOUNS[lever]
    for extreme in extremes:
        name = chosen[extreme]
        c = lever_candidate(ev, model, lever, name, dimension=dimension, what=what(name), subject=subject(name),
                            names=(name, f"other {noun}s"), words=(words(name), f"your other {noun}s"),
                            keep="always" if extreme == "best" else "significant", choices=len(estimates))
        if c:
            c.details["extreme"] = extreme
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


def formats(ev: Evidence, models: dict[str, LeverModel]) -> list[Candidate]:
    found = each_level(ev, models, "format", "formats")
    top = pareto(next(iter(models.values())).posts, "format", "formats", "formats", "format")
    return found + ([top] if top else [])


def pillars(ev: Evidence, models: dict[str, LeverModel]) -> list[Candidate]:
    found = each_level(ev, models, "content_pillar", "pillars")
    top = pareto(next(iter(models.values())).posts, "content_pillar", "pillars", "content_pillars", "pillar")
    return found + ([top] if top else [])


# --- 5 hooks ---------------------------------------------------------------------------------------

def hooks(ev: Evidence, models: dict[str, LeverModel]) -> list[Candidate]:
    """Each hook style against the others (other things equal), and the hook score against the
    day-7 metric (Spearman, as the score is meant to rank hooks)."""
    posts = next(iter(models.values())).posts
    found = each_level(ev, models, "hook_style", "hooks", HOOK_STYLES)
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


def slide_count(ev: Evidence, models: dict[str, LeverModel]) -> tuple[list[Candidate], int | None]:
    """The cut finding ("N+ slides do worse than fewer": every N tried, the clearest one printed, its
    p and interval accounting for the choice among the cuts) and the best single count (picked among
    the counts, likewise). One fit gives both, and a best count inside a range the cut calls worse
    is not offered as best. Returns the printed cut."""
    model = next(iter(models.values()))
    cuts = ev.levels((model.posts.platform, model.metric, SLIDE_CUTS))
    thresholds = []
    for n in sorted(cuts, key=int):
        c = lever_candidate(ev, model, "slides", n, dimension="slide_count", what=f"{n}_plus-vs-fewer",
                            subject={"slide_count_min": int(n)}, names=(f"{n}+ slides", f"under {n} slides"),
                            words=(f"posts with {n}+ slides", "posts with fewer"), choices=len(cuts),
                            family=SLIDE_CUTS)
        if c:
            thresholds.append(c)
    pick_one(thresholds, key=lambda c: (c.p, c.id))
    best = best_and_worst(ev, model, "slides", dimension="slide_count", what=lambda level: f"{level}-vs-rest",
                          subject=lambda level: {"slide_count": int(level)},
                          words=lambda level: f"posts with {level} slides", extremes=("best",))
    cut = next((c for c in thresholds if c.keep == "always"), None)
    for c in best:
        c.details["by_format"] = _slide_optimum_by_format(model.posts)
        if cut is not None and _inside_worse_range(c.subject["slide_count"], cut):
            c.direction, c.confidence = "none", "low"
            c.details["inside_worse_range"] = cut.id
    return thresholds + best, cut.subject["slide_count_min"] if cut else None


def _inside_worse_range(count: int, cut: Candidate) -> bool:
    """Whether the cut's own interval calls this count's side of it worse."""
    n, (low, high) = cut.subject["slide_count_min"], cut.ci
    return (high < 1 and count >= n) or (low > 1 and count < n)


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
