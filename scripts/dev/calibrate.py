"""make calibrate: the power-and-honesty report of the analyzer and the rules recommender.

Worlds come from the demo world's planner (scripts/dev/demo_world.py) with the effects each world
plants (a Truth): signal worlds plant the same factor (1.5x, 2x or 0.6x) on four levers at about 30
posts a group, null worlds plant nothing. Each world's posts go to the analyzer at day 7 as the
database would hand them over (TikTok: views and every interaction; Instagram: likes and comments
from reach, views only on videos; hand-made posts without a generator folder have no format), and
through the whole analysis: the models, the pooling across accounts, the Benjamini-Hochberg family,
the confidence rule and the rules recommender. Loading and matching are tested on their own
(tests/test_analyze.py runs the same effects through the real chain).

A cell is one planted effect on one account and platform: found when that account's file has a
medium or high finding about the planted level, on the planted metric, in the planted direction.
Null worlds count every medium and high finding and every proposal at medium or better.
Targets (issue 15, docs/calibration.md): 2x found in at least 90 % of cells at the demo world's
noise (SD 0.7 of log views; a noisier world, SD 1.2, is reported beside it without a target); no
wrong sign anywhere; in null worlds no high finding, at most 1 % of comparisons medium, and no
proposal at medium or better.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from threadpoolctl import threadpool_limits

from scripts.analysis.analyze import analyze_account, long_tail_caveat, long_tail_formats, model_account
from scripts.analysis.data import EARLY_AGE, METRICS, TEXT_COLUMNS, AccountData, PlatformPosts, PublishedPost
from scripts.analysis.findings import finalize
from scripts.analysis.levers import Evidence, pool_accounts
from scripts.analysis.portfolio import cross_account, hook_score_posts
from scripts.core.config import DEFAULT_FORMATS, AccountConfig
from scripts.core.files import write_text_atomic
from scripts.core.timeutil import to_iso
from scripts.dev.demo_world import DEMO_ACCOUNTS, NO_EFFECTS, PILLARS, PlannedPost, Truth, plan_account, views_at
from scripts.proposals.recfiles import default_context
from scripts.proposals.rules import actionable

END = date(2026, 11, 23)
DAYS = 160            # about 150 posts per account and platform: ~30 per format, CTA and hook style
LATE_AGE = 30
STRENGTHS = (2.0, 1.5, 0.6)


def signal_truth(factor: float, noise_sd: float) -> Truth:
    """One factor planted on a format, a hook style, a pillar and the save rate of a CTA."""
    return replace(NO_EFFECTS, format_views=(("step_guide", factor),), hook_views=(("number_specific", factor),),
                   pillar_views=(("tantrum_management", factor),), save_cta=("save_this", factor),
                   noise_sd=noise_sd)


# (name, dimension, subject, metric per platform): what a found cell looks like
PLANTED_CELLS = (
    ("step_guide format", "formats", {"format": "step_guide"}, {"tiktok": "views_d7", "instagram": "likes_d7"}),
    ("number_specific hook", "hooks", {"hook_style": "number_specific"}, {"tiktok": "views_d7", "instagram": "likes_d7"}),
    ("tantrum_management pillar", "pillars", {"content_pillar": "tantrum_management"},
     {"tiktok": "views_d7", "instagram": "likes_d7"}),
    ("save_this CTA, save rate", "save_vs_share", {"cta": "save_this"}, {"tiktok": "saves_per_view_d7"}),
)


def _platform_posts(spec, platform: str, posts: list[PlannedPost]) -> PlatformPosts:
    tz = ZoneInfo(spec.timezone)
    mine = [p for p in posts if platform in p.platforms]
    local = [p.published[platform].astimezone(tz) for p in mine]
    day7: dict[str, list[float]] = {m: [] for m in METRICS}
    growth = {(m, age): [] for m in ("views", "likes") for age in (EARLY_AGE, LATE_AGE)}
    for p in mine:
        for age, target in ((7, day7), (EARLY_AGE, None), (LATE_AGE, None)):
            numbers = _numbers(p, platform, age)
            if target is not None:
                for m in METRICS:
                    target[m].append(numbers[m])
            else:
                growth[("views", age)].append(numbers["views"])
                growth[("likes", age)].append(numbers["likes"])
    for m in ("views", "likes"):
        growth[(m, 7)] = day7[m]
    generated = [p.generated_at is not None for p in mine]
    text = {"format": [p.format if g else None for p, g in zip(mine, generated)],
            "content_pillar": [p.pillar for p in mine], "hook_style": [p.hook_style for p in mine],
            "cta": [p.cta for p in mine], "topic": [p.topic for p in mine]}
    return PlatformPosts(
        account=spec.name, platform=platform, post_id=np.array([f"{platform}-{p.key}" for p in mine], dtype=object),
        local_hour=np.array([t.hour for t in local]), weekday=np.array([t.weekday() for t in local]),
        text={c: np.array(text[c], dtype=object) for c in TEXT_COLUMNS},
        hook_score=np.array([p.hook_score for p in mine]), slide_count=np.array([float(p.slide_count) for p in mine]),
        day7={m: np.array(v, dtype=float) for m, v in day7.items()},
        growth={k: np.array(v, dtype=float) for k, v in growth.items()}, late_age=LATE_AGE)


def _numbers(post: PlannedPost, platform: str, age: float) -> dict[str, float]:
    """What the platform shows at an age, as the demo's actor items carry it (scripts/dev/demo.py)."""
    nan = float("nan")
    if platform == "tiktok":
        views = views_at(post, age)
        return {"views": float(int(views)), "likes": float(int(views * post.rates["like"])),
                "comments": float(int(views * post.rates["comment"])),
                "shares": float(int(views * post.rates["share"])), "saves": float(int(views * post.rates["save"]))}
    reach = views_at(post, age) * 0.6
    return {"views": float(int(reach)) if post.media == "video" else nan,
            "likes": float(int(reach * post.rates["like"])), "comments": float(int(reach * post.rates["comment"])),
            "shares": nan, "saves": nan}


def world(truth: Truth | None, seed: int, null: bool, days: int = DAYS) -> dict[str, tuple[AccountData, AccountConfig]]:
    rng = np.random.default_rng(seed)
    start = END - timedelta(days=days)
    found = {}
    for spec in DEMO_ACCOUNTS:
        posts = plan_account(spec, start, days, rng, null, truth)
        platforms = {platform: _platform_posts(spec, platform, posts) for platform in ("tiktok", "instagram")}
        published = [PublishedPost(platform, f"{platform}-{p.key}", p.published[platform],
                                   p.format if p.generated_at else None, p.pillar, p.key)
                     for p in posts for platform in p.platforms]
        through = to_iso(datetime.combine(END, time(8), tzinfo=timezone.utc))
        config = AccountConfig(name=spec.name, platform_profiles={"tiktok": spec.name, "instagram": spec.name},
                               timezone=spec.timezone, content_pillars={p: PILLARS[p][0] for p in spec.pillars},
                               formats=list(DEFAULT_FORMATS))
        found[spec.name] = (AccountData(spec.name, platforms, published, through), config)
    return found


def analyze_world(accounts: dict[str, tuple[AccountData, AccountConfig]]) -> tuple[dict[str, dict], list[dict]]:
    """The insights documents and the cross-account findings, as make analyze would write them."""
    with threadpool_limits(limits=1):
        modelled = {name: (data, config, *model_account(data)) for name, (data, config) in accounts.items()}
        estimates = {name: m[3] for name, m in modelled.items()}
        pooled = pool_accounts(estimates)
        docs = {name: analyze_account(data, config, models, Evidence(name, pooled))
                for name, (data, config, models, _) in modelled.items()}
        long_tail = {fmt: f"{a}: {fid}" for a, d in docs.items() for fmt, fid in long_tail_formats(d["findings"]).items()}
        cross = finalize(cross_account(pooled.families, {n: hook_score_posts(m[2]) for n, m in modelled.items()}),
                         adjust=long_tail_caveat(long_tail))
    return docs, cross


def proposals(docs: dict[str, dict], cross: list[dict], accounts) -> dict[str, list[dict]]:
    """What the rules recommender would propose to each account from a fresh context."""
    return {name: actionable(doc["findings"] + cross, default_context(accounts[name][1]),
                             platforms=set(accounts[name][1].platform_profiles))
            for name, doc in docs.items()}


def found_cell(findings: list[dict], dimension: str, subject: dict, platform: str, metric: str, factor: float) -> bool:
    want = "better" if factor > 1 else "worse"
    return any(f["dimension"] == dimension and f["platform"] == platform and f["metric"] == metric
               and all(f["subject"].get(k) == v for k, v in subject.items()) and f["direction"] == want
               and f["confidence"] != "low" for f in findings)


def _has_level(posts: PlatformPosts, subject: dict) -> bool:
    (column, level), = subject.items()
    return bool((posts.text[column] == level).any())


@dataclass
class SignalRow:
    factor: float
    noise_sd: float
    cells: dict[str, list[bool]]       # planted effect -> found per (seed, account, platform)
    wrong_sign: int


@dataclass
class NullRow:
    noise_sd: float
    files: int
    comparisons: int
    medium: int
    high: int
    proposals: int
    examples: list[str]


def signal_row(factor: float, noise_sd: float, seeds) -> SignalRow:
    cells: dict[str, list[bool]] = {name: [] for name, *_ in PLANTED_CELLS}
    wrong = 0
    for seed in seeds:
        accounts = world(signal_truth(factor, noise_sd), seed, null=False)
        docs, _ = analyze_world(accounts)
        for account, doc in docs.items():
            for name, dimension, subject, metrics in PLANTED_CELLS:
                for platform, metric in metrics.items():
                    if not _has_level(accounts[account][0].platforms[platform], subject):
                        continue  # an account without the planted pillar has no cell for it
                    cells[name].append(found_cell(doc["findings"], dimension, subject, platform, metric, factor))
                    wrong += found_cell(doc["findings"], dimension, subject, platform, metric, 1 / factor)
    return SignalRow(factor, noise_sd, cells, wrong)


def null_row(noise_sd: float, seeds) -> NullRow:
    row = NullRow(noise_sd, 0, 0, 0, 0, 0, [])
    for seed in seeds:
        accounts = world(replace(NO_EFFECTS, noise_sd=noise_sd), seed, null=True)
        docs, cross = analyze_world(accounts)
        for name, doc in docs.items():
            row.files += 1
            row.comparisons += max((f["details"].get("comparisons_in_family", 0) for f in doc["findings"]), default=0)
            for f in doc["findings"]:
                row.medium += f["confidence"] == "medium"
                row.high += f["confidence"] == "high"
                if f["confidence"] != "low":
                    row.examples.append(f"seed {seed} {name}: {f['id']} ({f['confidence']})")
        for name, chosen in proposals(docs, cross, accounts).items():
            row.proposals += len(chosen)
            row.examples += [f"seed {seed} {name}: proposal from {p['finding_id']}" for p in chosen]
    return row


def share(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.0f}% ({sum(values)}/{len(values)})" if values else "-"


def report(seeds, noise_levels=(0.7, 1.2)) -> tuple[str, bool]:
    """The markdown tables, and whether every target was met."""
    lines = ["| planted | noise SD | " + " | ".join(name for name, *_ in PLANTED_CELLS) + " | wrong sign |",
             "|---|---|" + "---|" * len(PLANTED_CELLS) + "---|"]
    ok = True
    for noise in noise_levels:
        for factor in STRENGTHS:
            row = signal_row(factor, noise, seeds)
            lines.append(f"| {factor:g}x | {noise:g} | " + " | ".join(share(row.cells[name]) for name, *_ in PLANTED_CELLS)
                         + f" | {row.wrong_sign} |")
            if factor == 2.0 and noise == noise_levels[0]:  # the target's world; the noisier one is reported
                ok &= all(sum(v) >= 0.9 * len(v) for v in row.cells.values())
            ok &= row.wrong_sign == 0
    lines += ["", "| null world, noise SD | files | comparisons | medium | high | medium per comparison | proposals |",
              "|---|---|---|---|---|---|---|"]
    examples = []
    for noise in noise_levels:
        row = null_row(noise, seeds)
        rate = row.medium / row.comparisons if row.comparisons else 0.0
        lines.append(f"| {noise:g} | {row.files} | {row.comparisons} | {row.medium} | {row.high} | "
                     f"{100 * rate:.2f}% | {row.proposals} |")
        ok &= row.high == 0 and rate <= 0.01 and row.proposals == 0
        examples += row.examples
    if examples:
        lines += ["", "Null-world claims and proposals:", *[f"- {e}" for e in examples[:20]]]
    return "\n".join(lines), ok


def run(seeds: int, out: str | None) -> int:
    tables, ok = report(range(1, seeds + 1))
    text = f"{tables}\n\nseeds 1-{seeds}; targets {'met' if ok else 'NOT met'}\n"
    print(text, end="")
    if out:
        write_text_atomic(Path(out), text)
    return 0 if ok else 2
