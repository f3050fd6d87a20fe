"""The dashboard's charts as Vega-Lite specs (altair), built from canned-query rows (dicts).

Each chart's shape is built once with altair and cached; the rows go into the spec's top-level
`datasets` afterwards. Passing rows through altair instead costs ~1 s per chart on a big account
(it walks every value), which for 50 accounts was most of the dashboard's time.
Each function returns a spec dict, or None when there is nothing to draw, so the page can say so
instead of showing an empty frame.
"""
from __future__ import annotations

from functools import lru_cache

import altair as alt

WIDTH = 520
HEIGHT = 260
ROWS = "rows"  # the dataset name every single-data chart reads
PLATFORM_COLORS = alt.Scale(domain=["tiktok", "instagram"], range=["#1f77b4", "#e4572e"])


def _spec(chart) -> dict:
    # the specs are built from fixed code, so altair's JSON-schema validation only costs time
    return chart.to_dict(validate=False)


def _with_data(template: dict, **datasets: list[dict]) -> dict:
    return {**template, "datasets": datasets}


@lru_cache(maxsize=None)
def _trend() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title="Engagement rate at day 7, by publishing week").mark_line(
        point=True).encode(
        x=alt.X("week:T", title="week"),
        y=alt.Y("engagement_pct_d7:Q", title="engagement per view, % (day 7)"),
        color=alt.Color("platform:N", scale=PLATFORM_COLORS),
        tooltip=["week:T", "platform:N", "posts_d7:Q", "engagement_pct_d7:Q", "avg_views_d7:Q"],
    ).properties(width=WIDTH, height=HEIGHT))


def engagement_trend(rows: list[dict]) -> dict | None:
    """Weekly mean engagement rate at day 7, one line per platform."""
    rows = [r for r in rows if r["engagement_pct_d7"] is not None]
    return _with_data(_trend(), rows=rows) if rows else None


@lru_cache(maxsize=None)
def _format_bars() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title="Average views at day 7 by format").mark_bar().encode(
        x=alt.X("format:N", sort="-y", title=None),
        xOffset="platform:N",
        y=alt.Y("avg_views_d7:Q", title="average views at day 7"),
        color=alt.Color("platform:N", scale=PLATFORM_COLORS),
        tooltip=["format:N", "platform:N", "posts_d7:Q", "avg_views_d7:Q", "engagement_pct:Q"],
    ).properties(width=WIDTH, height=HEIGHT))


def format_bars(rows: list[dict]) -> dict | None:
    """Average views at day 7 per format, platforms side by side."""
    rows = [r for r in rows if r["avg_views_d7"] is not None and r["format"] is not None]
    return _with_data(_format_bars(), rows=rows) if rows else None


@lru_cache(maxsize=None)
def _pillar_heatmap(panels: tuple[tuple[str, str], ...]) -> dict:
    """One heatmap per (platform, metric), each reading the dataset named after its platform."""
    charts = []
    for platform, metric in panels:
        base = alt.Chart(alt.NamedData(platform), title=f"{platform}: average {metric} at day 7").encode(
            x=alt.X("format:N", title=None), y=alt.Y("content_pillar:N", title=None))
        rect = base.mark_rect().encode(
            color=alt.Color("avg_metric_d7:Q", title=f"{metric} (day 7)", scale=alt.Scale(scheme="blues")),
            tooltip=["content_pillar:N", "format:N", "posts_d7:Q", "avg_metric_d7:Q"])
        text = base.mark_text(fontSize=10).encode(text=alt.Text("posts_d7:Q"))
        charts.append(alt.layer(rect, text).properties(width=WIDTH // 2, height=HEIGHT - 60))
    return _spec(alt.hconcat(*charts).resolve_scale(color="independent"))


def pillar_heatmap(rows: list[dict]) -> dict | None:
    """Pillar x format, coloured by the day-7 metric each platform publishes for every post."""
    by_platform = {}
    for platform in ("tiktok", "instagram"):
        mine = [r for r in rows if r["platform"] == platform and r["avg_metric_d7"] is not None]
        if mine:
            by_platform[platform] = mine
    if not by_platform:
        return None
    panels = tuple((platform, mine[0]["metric"]) for platform, mine in by_platform.items())
    return _with_data(_pillar_heatmap(panels), **by_platform)


@lru_cache(maxsize=None)
def _save_share() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title="TikTok: saves vs shares per 1,000 views (day 7)").mark_circle(
        opacity=0.7).encode(
        x=alt.X("saves_per_1k_views:Q", title="saves per 1,000 views"),
        y=alt.Y("shares_per_1k_views:Q", title="shares per 1,000 views"),
        color=alt.Color("format:N"),
        size=alt.Size("views_d7:Q", title="views (day 7)", scale=alt.Scale(range=[15, 250])),
        tooltip=["published:N", "format:N", "cta:N", "views_d7:Q", "saves_per_1k_views:Q",
                 "shares_per_1k_views:Q", "hook_text:N"],
    ).properties(width=WIDTH, height=HEIGHT))


def save_share_scatter(rows: list[dict]) -> dict | None:
    """TikTok posts by saves and shares per 1,000 views at day 7: which formats get saved, which shared."""
    return _with_data(_save_share(), rows=rows) if rows else None


@lru_cache(maxsize=None)
def _lift() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS)).mark_rect().encode(
        x=alt.X("format:N", title=None),
        y=alt.Y("account_name:N", title=None),
        color=alt.Color("lift:Q", scale=alt.Scale(scheme="redblue", domainMid=1), title="lift"),
        tooltip=["account_name:N", "platform:N", "format:N", "posts:Q", "lift:Q", "lift_all_accounts:Q"],
    ).properties(width=WIDTH // 2, height=alt.Step(14)).facet(
        column=alt.Column("platform:N", title=None),
        title="Format lift by account: day-7 views (TikTok) or likes (Instagram) / the account's average"))


def lift_heatmap(rows: list[dict]) -> dict | None:
    """Cross-account: each format's day-7 views relative to the account's own average (1 = usual)."""
    return _with_data(_lift(), rows=rows) if rows else None


@lru_cache(maxsize=None)
def _followers() -> dict:
    return _spec(alt.Chart(alt.NamedData(ROWS), title="Follower growth since the first scrape, %").mark_line().encode(
        x=alt.X("day:T", title=None),
        y=alt.Y("growth_pct:Q", title="growth %"),
        color=alt.Color("account_name:N", title="account"),
        strokeDash=alt.StrokeDash("platform:N"),
        tooltip=["account_name:N", "platform:N", "day:T", "followers:Q", "growth_pct:Q"],
    ).properties(width=WIDTH, height=HEIGHT))


def follower_growth(rows: list[dict]) -> dict | None:
    """Cross-account: followers in percent of the first scrape, one line per account and platform."""
    return _with_data(_followers(), rows=rows) if rows else None
