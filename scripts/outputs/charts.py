"""The dashboard's charts as Vega-Lite specs (altair).

Two kinds, never mixed up:
- evidence charts draw a finding's own statistic from data/insights/: the effect as a dot, its interval
  as a line ("likely range"), the groups' n in the label and a reference line at "no difference" (1x
  for ratios). Nothing is re-computed from posts, so a chart can never contradict the sentence beside it.
- "your posts in numbers" charts draw canned-query rows (averages, post by post), and their titles say
  they are averages.

Each chart's shape is built once with altair and cached; the rows go into the spec's top-level
`datasets` afterwards (passing rows through altair costs ~1 s per chart on a big account). Every
chart is as wide as its container, so a page fits a phone. Each function returns a spec dict, or None
when there is nothing to draw, so the page can say so instead of showing an empty frame.
"""
from __future__ import annotations

import copy
import math
from functools import lru_cache

import altair as alt

from scripts.analysis.headlines import PLATFORM_WORDS, base_metric, label, subject_words

HEIGHT = 240
ROWS = "rows"  # the dataset name every single-data chart reads
PLATFORM_COLORS = alt.Scale(domain=["tiktok", "instagram"], range=["#1f77b4", "#e4572e"])
LOW_GREY = "#9a9a9a"
MIN_CELL_N = 5   # heatmap cells with fewer posts are muted: too few to read anything into
RATIO_TICKS = (0.125, 0.25, 0.5, 1, 2, 4, 8, 16)
RATIO_LABELS = ("datum.value == 0.5 ? '½×' : datum.value == 0.25 ? '¼×' : datum.value == 0.125 ? '⅛×' : "
                "datum.value + '×'")
# the effect kinds an evidence chart draws, and how: (axis kind, reference value, axis title)
EFFECT_AXES = {
    "ratio": ("log", 1.0, "× the posts compared with (1× = same)"),
    "odds_ratio": ("log", 1.0, "× as likely among the weakest fifth"),
    "share": ("share", None, "share"),
    "spearman_rho": ("rho", 0.0, "link: 0 none, 1 always"),
}
RATIO_KINDS = ("ratio_of_medians", "adjusted_ratio", "ratio", "rate_ratio")
# rows of the step charts, in px: a chart is as wide as its container and as tall as its rows (a fixed
# height per chart, since Vega-Lite drops a container width's fit for a stepped height with a warning)
EVIDENCE_ROW, HEATMAP_ROW = 62, 38


def _spec(chart) -> dict:
    # the specs are built from fixed code, so altair's JSON-schema validation only costs time
    return chart.to_dict(validate=False)


def _with_data(template: dict, **datasets: list[dict]) -> dict:
    return {**template, "datasets": datasets}


def _rows_high(spec: dict, rows: list[dict], field: str, per_row: int) -> dict:
    return {**spec, "height": per_row * max(1, len({r[field] for r in rows}))}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# --- evidence: a finding's own effect and interval ------------------------------------------

def axis_of(finding: dict) -> str | None:
    """Which evidence axis a finding is drawn on, or None when it has no effect with an interval to draw."""
    kind = str(finding.get("effect_kind") or "")
    effect, ci = _number(finding.get("effect")), finding.get("ci")
    if effect is None:
        return None
    has_ci = isinstance(ci, list) and len(ci) == 2 and all(_number(v) is not None for v in ci)
    if kind in RATIO_KINDS or (kind.endswith("ratio") and kind not in ("odds_ratio",)):
        return "ratio" if effect > 0 and has_ci and min(ci) > 0 else None
    if kind == "odds_ratio":
        return "odds_ratio" if effect > 0 and has_ci and min(ci) > 0 else None
    if kind in ("share", "spearman_rho"):
        return kind if has_ci else None
    return None


def _sample(finding: dict) -> str:
    ns = [g.get("n") for g in finding.get("groups") or [] if isinstance(g, dict) and isinstance(g.get("n"), int)]
    return f"{ns[0]} vs {ns[1]} posts" if len(ns) >= 2 else f"{ns[0]} posts" if ns else ""


def row_label(finding: dict) -> str:
    """What a finding compares, in one line: 'Step-by-step guides · TikTok views'."""
    words = subject_words(finding)
    platform = PLATFORM_WORDS.get(finding.get("platform"))
    metric = base_metric(finding.get("metric", "")).split(" after ")[0]
    return f"{words[:1].upper()}{words[1:]} · " + (f"{platform} {metric}" if platform else metric)


def evidence_row(finding: dict, headline: str) -> dict:
    """One row of an evidence chart; its label is two short lines (what, then where and n), written
    above the row so a phone keeps the chart's width."""
    ci = finding["ci"]
    sample = _sample(finding)
    what, where = row_label(finding).split(" · ", 1)
    return {"label": f"{what}\n{where}" + (f" · n {sample.removesuffix(' posts')}" if sample else ""),
            "effect": float(finding["effect"]), "lo": float(min(ci)), "hi": float(max(ci)),
            "confidence": finding["confidence"], "platform": finding.get("platform") or "",
            "headline": headline, "sample": sample}


@lru_cache(maxsize=None)
def _evidence_template(axis: str) -> dict:
    kind, reference, title = EFFECT_AXES[axis]
    scale = alt.Scale(type="log") if kind == "log" else alt.Scale(domain=[0, 1]) if kind == "share" else \
        alt.Scale(domain=[-1, 1])
    axis_spec = alt.Axis(values=list(RATIO_TICKS), labelExpr=RATIO_LABELS, grid=True) if kind == "log" else \
        alt.Axis(format="%") if kind == "share" else alt.Axis()
    x = alt.X("lo:Q", scale=scale, axis=axis_spec, title=title)
    # each row's label is written above its line, not beside it, so the chart keeps its width on a phone
    base = alt.Chart(alt.NamedData(ROWS)).encode(y=alt.Y("label:N", sort=None, title=None, axis=None))
    colour = alt.condition("datum.confidence == 'low'", alt.value(LOW_GREY),
                           alt.Color("platform:N", scale=PLATFORM_COLORS, legend=None))
    tooltip = [alt.Tooltip("headline:N", title="finding"), alt.Tooltip("effect:Q", title="effect", format=".2f"),
               alt.Tooltip("lo:Q", title="likely from", format=".2f"), alt.Tooltip("hi:Q", title="to", format=".2f"),
               alt.Tooltip("sample:N", title="posts")]
    interval = base.mark_rule(strokeWidth=3).encode(
        x=x, x2="hi:Q", color=colour,
        strokeDash=alt.condition("datum.confidence == 'low'", alt.value([4, 3]), alt.value([1, 0])),
        tooltip=tooltip)
    dot = base.mark_point(size=110, strokeWidth=2, opacity=1).encode(
        x=alt.X("effect:Q"), color=colour,
        fill=alt.condition("datum.confidence == 'high'", alt.Color("platform:N", scale=PLATFORM_COLORS, legend=None),
                           alt.value("white")),
        tooltip=tooltip)
    words = base.mark_text(align="left", baseline="bottom", dy=-9, fontSize=12, lineHeight=14, lineBreak="\n",
                           color="#222").encode(
        x=alt.value(2), text="label:N")
    layers = [interval, dot, words]
    if reference is not None:
        layers.insert(0, alt.Chart(alt.NamedData(ROWS)).mark_rule(color="#444", strokeDash=[3, 3]).encode(
            x=alt.datum(reference)))
    return _spec(alt.layer(*layers).properties(width="container", height=EVIDENCE_ROW))


def _domain(axis: str, rows: list[dict]) -> list[float] | None:
    if EFFECT_AXES[axis][0] != "log":
        return None
    low = min(min(r["lo"], r["effect"]) for r in rows)
    high = max(max(r["hi"], r["effect"]) for r in rows)
    return [min(low, 0.8) / 1.15, max(high, 1.25) * 1.15]


def evidence_chart(axis: str, rows: list[dict]) -> dict | None:
    """One row per finding on one axis: the dot is the effect, the line its likely range (the
    interval), the dashed line "no difference"; hollow dots are "probably", grey dashed ones hints."""
    if not rows or axis not in EFFECT_AXES:
        return None
    spec = copy.deepcopy(_evidence_template(axis))
    domain = _domain(axis, rows)
    if domain:
        for layer in spec["layer"]:
            x = layer.get("encoding", {}).get("x", {})
            if "scale" in x:
                x["scale"]["domain"] = domain
                x["axis"]["values"] = [t for t in RATIO_TICKS if domain[0] <= t <= domain[1]]
    return _rows_high(_with_data(spec, rows=rows), rows, "label", EVIDENCE_ROW)


# --- your posts in numbers (averages, labelled as such) --------------------------------------

@lru_cache(maxsize=None)
def _trend() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title=alt.Title(
        "Average engagement after 7 days, by publishing week",
        subtitle="Instagram: only its videos, the posts it publishes views for")).mark_line(
        point=True).encode(
        x=alt.X("week:T", title="week"),
        y=alt.Y("engagement_pct_d7:Q", title=f"average {label('engagement_pct_d7')}"),
        color=alt.Color("platform:N", scale=PLATFORM_COLORS, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("week:T"), alt.Tooltip("platform:N"),
                 alt.Tooltip("posts_d7:Q", title=label("posts_d7")),
                 alt.Tooltip("engagement_pct_d7:Q", title=label("engagement_pct_d7")),
                 alt.Tooltip("avg_views_d7:Q", title=label("avg_views_d7"))],
    ).properties(width="container", height=HEIGHT))


def engagement_trend(rows: list[dict]) -> dict | None:
    """Weekly mean engagement rate at day 7, one line per platform (known only where views are)."""
    rows = [r for r in rows if r["engagement_pct_d7"] is not None]
    return _with_data(_trend(), rows=rows) if rows else None


@lru_cache(maxsize=None)
def _pillar_heatmap(platform: str, metric: str) -> dict:
    base = alt.Chart(alt.NamedData(ROWS), title=alt.Title(
        f"{PLATFORM_WORDS.get(platform, platform)}: average {metric} after 7 days",
        subtitle="per topic (rows) and format (columns); n = posts")).encode(
        x=alt.X("format:N", title=None, axis=alt.Axis(labelAngle=-30, labelLimit=120)),
        y=alt.Y("content_pillar:N", title=None, axis=alt.Axis(labelLimit=140)))
    few = f"datum.posts_d7 < {MIN_CELL_N}"
    rect = base.mark_rect().encode(
        color=alt.condition(few, alt.value("#f1f1f1"), alt.Color(
            "avg_metric_d7:Q", scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(title=f"average {metric}, 7 days", orient="bottom"))),
        tooltip=[alt.Tooltip("content_pillar:N", title="topic"), alt.Tooltip("format:N"),
                 alt.Tooltip("posts_d7:Q", title="posts"), alt.Tooltip("avg_metric_d7:Q", title=f"average {metric}")])
    text = base.mark_text(fontSize=11, lineBreak="\n").encode(
        text="cell:N", color=alt.condition(few, alt.value("#999"), alt.value("#111")))
    return _spec(alt.layer(rect, text).properties(width="container", height=HEATMAP_ROW))


def pillar_heatmaps(rows: list[dict]) -> list[dict]:
    """One heatmap per platform: each cell's average day-7 metric and its n; cells under 5 posts muted."""
    specs = []
    for platform in ("tiktok", "instagram"):
        mine = [{**r, "cell": f"{r['avg_metric_d7']:,}\nn={r['posts_d7']}"} for r in rows
                if r["platform"] == platform and r["avg_metric_d7"] is not None]
        if mine:
            specs.append(_rows_high(_with_data(_pillar_heatmap(platform, mine[0]["metric"]), rows=mine), mine,
                                    "content_pillar", HEATMAP_ROW))
    return specs


@lru_cache(maxsize=None)
def _save_share() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title="TikTok, post by post: saves and shares per 1,000 views "
                                                      "after 7 days").mark_circle(opacity=0.7).encode(
        x=alt.X("saves_per_1k_views:Q", title=label("saves_per_1k_views")),
        y=alt.Y("shares_per_1k_views:Q", title=label("shares_per_1k_views")),
        color=alt.Color("format:N", legend=alt.Legend(orient="bottom", columns=3)),
        size=alt.Size("views_d7:Q", title=label("views_d7"), scale=alt.Scale(range=[15, 250]),
                      legend=alt.Legend(orient="bottom")),
        tooltip=["published:N", "format:N", "cta:N", "views_d7:Q", "saves_per_1k_views:Q",
                 "shares_per_1k_views:Q", "hook_text:N"],
    ).properties(width="container", height=HEIGHT))


def save_share_scatter(rows: list[dict]) -> dict | None:
    """TikTok posts by saves and shares per 1,000 views at day 7 (an unmatched format says so, never null)."""
    rows = [{**r, "format": r.get("format") or "unmatched"} for r in rows]
    return _with_data(_save_share(), rows=rows) if rows else None


# --- all accounts ------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _lift() -> dict:
    few = f"datum.n < {MIN_CELL_N}"
    base = alt.Chart(alt.NamedData(ROWS)).encode(
        x=alt.X("account:N", title=None, sort=None, axis=alt.Axis(orient="top", labelAngle=-30, labelLimit=130)),
        y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=300)))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.condition(few, alt.value("#f1f1f1"), alt.Color(
            "ratio:Q", scale=alt.Scale(type="log", scheme="redblue", domain=[0.25, 4], domainMid=1, clamp=True),
            legend=alt.Legend(title="× the account's usual post (red below, blue above; grey: under 5 posts)",
                              orient="bottom", values=[0.25, 0.5, 1, 2, 4], labelExpr=RATIO_LABELS,
                              titleLimit=500, gradientLength=220))),
        tooltip=[alt.Tooltip("label:N", title="posts"), alt.Tooltip("account:N"),
                 alt.Tooltip("ratio:Q", format=".2f", title="× the account's usual"), alt.Tooltip("n:Q", title="posts")])
    text = base.mark_text(fontSize=11, lineBreak="\n").encode(
        text="cell:N", color=alt.condition(few, alt.value("#999"), alt.value("#111")))
    return _spec(alt.layer(rect, text).properties(width="container", height=HEATMAP_ROW))


def lift_heatmap(rows: list[dict]) -> dict | None:
    """Cross-account findings, account by account: the same adjusted ratio the finding states per account,
    and the pooled effect in the 'all accounts' column."""
    return _rows_high(_with_data(_lift(), rows=rows), rows, "label", HEATMAP_ROW) if rows else None


@lru_cache(maxsize=None)
def _followers(account: str) -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title=account).mark_line(point=True).encode(
        x=alt.X("day:T", title=None),
        y=alt.Y("growth_pct:Q", title=label("growth_pct")),
        color=alt.Color("platform:N", scale=PLATFORM_COLORS, legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["platform:N", "day:T", alt.Tooltip("followers:Q", format=","),
                 alt.Tooltip("growth_pct:Q", title=label("growth_pct"))],
    ).properties(width="container", height=150))


def follower_growth(rows: list[dict]) -> list[dict]:
    """Small multiples: one chart per account, TikTok and Instagram in each, growth % since its first scrape."""
    accounts = sorted({r["account_name"] for r in rows})
    return [_with_data(_followers(a), rows=[r for r in rows if r["account_name"] == a]) for a in accounts]
