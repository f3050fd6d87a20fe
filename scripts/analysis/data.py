"""What the analyzer reads: each account's posts per platform as column arrays, metrics at fixed ages.

Day-7 metrics come from v_post_day7 and the other ages from v_metrics_at_age (sql/), so the
age rule lives in SQL only. A metric the platform does not publish stays NaN (NULL), never 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from scripts.core.timeutil import parse_utc
# the interactions each platform publishes on every post (engagement for the 80/20 dimension)
from scripts.sources.normalize import PUBLISHED_INTERACTIONS

# the metric every comparison ranks by: TikTok publishes views for every post; Instagram
# publishes none for images and carousels, so likes stand in there
PRIMARY_METRIC = {"tiktok": "views", "instagram": "likes"}
METRICS = ("views", "likes", "comments", "shares", "saves")
DAY = 7                         # the age every comparison is made at (v_post_day7)
EARLY_AGE = 3                   # growth curves: the share of later views that came after day 3 ...
LATE_AGES = (30, 21, 14, DAY)   # ... of the views at the first of these ages most posts were seen at
# "most posts": three quarters of the day-7 posts, so the posts compared are not a skewed few
# (those published just before a slow week)
LATE_COVERAGE = 0.75
TEXT_COLUMNS = ("format", "content_pillar", "hook_style", "cta", "topic")

# one account's rows (:account): each query finds them through an index on account_name
DAY7_SQL = """
SELECT platform, post_id, published_at, published_local, topic, format, content_pillar,
       hook_style, cta, hook_score, slide_count, views, likes, comments, shares, saves
FROM v_post_day7 WHERE account_name = :account
  AND is_collab = 0  -- collabs reached another account's audience too: not evidence about our levers
ORDER BY platform, published_at, post_id
"""
AGE_SQL = "SELECT post_id, views, likes FROM v_metrics_at_age WHERE account_name = :account AND age_day = :age"
POSTS_SQL = """
SELECT platform, post_id, published_at, format, content_pillar,
       coalesce(output_folder, post_id) AS content_key,
       coalesce(julianday(last_seen_at) - julianday(published_at), 0) AS followed_days
FROM posts WHERE account_name = :account AND published_at IS NOT NULL ORDER BY published_at, post_id
"""
THROUGH_SQL = "SELECT MAX(scraped_at) FROM raw_files WHERE account_name = :account"


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _columns(rows: list[tuple], names: list[str]) -> dict[str, tuple]:
    """Rows turned into columns: column name -> values, in row order."""
    return dict(zip(names, zip(*rows))) if rows else {name: () for name in names}


def _query_columns(db, sql: str, params: dict, group: bool = False) -> dict:
    """A query's result as columns; with group=True, one set of columns per value of its first
    column (in query order)."""
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    if not group:
        return _columns(cursor.fetchall(), names)
    groups: dict[str, list[tuple]] = {}
    for row in cursor:
        groups.setdefault(row[0], []).append(row)
    return {key: _columns(rows, names) for key, rows in groups.items()}


@dataclass
class PlatformPosts:
    """The age-matched (day-7) posts of one account on one platform, one array per column."""
    account: str
    platform: str
    post_id: np.ndarray
    local_hour: np.ndarray               # hour of publishing in the account's timezone, -1 if unknown
    weekday: np.ndarray                  # Monday = 0 ... Sunday = 6 (local), -1 if unknown
    text: dict[str, np.ndarray]          # format, content_pillar, hook_style, cta, topic (None = unknown)
    hook_score: np.ndarray
    slide_count: np.ndarray
    day7: dict[str, np.ndarray]          # views, likes, ... at day 7 (NaN = not published)
    growth: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (metric, age) -> values
    late_age: int | None = None          # the late age of the growth curve (see LATE_AGES)

    def __len__(self) -> int:
        return len(self.post_id)

    @property
    def primary(self) -> np.ndarray:
        return self.day7[PRIMARY_METRIC[self.platform]]

    def interactions(self) -> np.ndarray:
        """Published interactions at day 7; NaN where any of them is unknown (e.g. hidden likes)."""
        return np.sum([self.day7[m] for m in PUBLISHED_INTERACTIONS[self.platform]], axis=0)


@dataclass
class PublishedPost:
    """Any published post, mature or not: what exploration counts."""
    platform: str
    post_id: str
    published: datetime
    format: str | None
    content_pillar: str | None
    content_key: str     # the generator folder when known, so a cross-posted item counts once


@dataclass
class AccountData:
    account: str
    platforms: dict[str, PlatformPosts]
    published: list[PublishedPost]
    data_through: str | None

    @property
    def sample_size(self) -> int:
        return sum(len(p) for p in self.platforms.values())


def _local_time(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Hour and weekday from 'YYYY-MM-DDTHH:MM:SS' local wall-clock strings (-1 where missing)."""
    known = np.array([bool(v) and len(v) >= 13 for v in values])
    stamps = np.array([v[:13] if ok else "NaT" for v, ok in zip(values, known)], dtype="datetime64[h]")
    hours = np.where(known, stamps.astype("int64") % 24, -1)
    days = stamps.astype("datetime64[D]").astype("int64")
    return hours, np.where(known, (days + 3) % 7, -1)  # 1970-01-01 was a Thursday (3)


def _platform_posts(account: str, platform: str, columns: dict[str, tuple]) -> PlatformPosts:
    hours, weekdays = _local_time(columns["published_local"])
    return PlatformPosts(
        account=account, platform=platform, post_id=np.array(columns["post_id"], dtype=object),
        local_hour=hours, weekday=weekdays,
        text={c: np.array(columns[c], dtype=object) for c in TEXT_COLUMNS},
        hook_score=_floats(columns["hook_score"]), slide_count=_floats(columns["slide_count"]),
        day7={m: _floats(columns[m]) for m in METRICS})


def _add_growth(db, account: str, posts: list[PlatformPosts], followed_days: dict[str, float]) -> None:
    """Metrics at EARLY_AGE and at each platform's late age: the first of LATE_AGES that most of its
    day-7 posts were seen at (the scraper follows only the newest posts, so late ages thin out).
    An age no platform can reach (posts last seen too early) is not queried at all."""
    def fill(age: int, values: dict[str, tuple]) -> None:
        for p in posts:
            for i, metric in enumerate(("views", "likes")):
                p.growth[(metric, age)] = p.day7[metric] if age == DAY else \
                    _floats(values.get(pid, (None, None))[i] for pid in p.post_id)

    def reachable(p: PlatformPosts, age: int) -> bool:
        followed = np.array([followed_days.get(pid, 0.0) for pid in p.post_id])
        return (followed >= age).sum() >= LATE_COVERAGE * len(p)

    def metrics_at(age: int) -> dict[str, tuple]:  # post_id -> (views, likes)
        return {row[0]: row[1:] for row in db.execute(AGE_SQL, {"account": account, "age": age})}

    fill(EARLY_AGE, metrics_at(EARLY_AGE))
    for age in LATE_AGES:
        pending = [p for p in posts if p.late_age is None and len(p) and reachable(p, age)]
        if not pending:
            continue
        fill(age, {} if age == DAY else metrics_at(age))
        for p in pending:
            metric = PRIMARY_METRIC[p.platform]
            seen = np.isfinite(p.growth[(metric, EARLY_AGE)]) & np.isfinite(p.growth[(metric, age)])
            if seen.sum() >= LATE_COVERAGE * len(p):
                p.late_age = age


def read_account(db, account: str) -> AccountData:
    """One account's data: a few indexed queries over the views."""
    params = {"account": account}
    platforms = {platform: _platform_posts(account, platform, columns)
                 for platform, columns in sorted(_query_columns(db, DAY7_SQL, params, group=True).items())}
    c = _query_columns(db, POSTS_SQL, params)
    published = [PublishedPost(*fields) for fields in zip(
        c["platform"], c["post_id"], map(parse_utc, c["published_at"]), c["format"], c["content_pillar"],
        c["content_key"])]
    followed_days = dict(zip(c["post_id"], c["followed_days"]))  # how long the scraper kept seeing each post
    _add_growth(db, account, list(platforms.values()), followed_days)
    return AccountData(account=account, platforms=platforms, published=published,
                       data_through=db.execute(THROUGH_SQL, params).fetchone()[0])
