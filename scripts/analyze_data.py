"""What the analyzer reads: each account's posts per platform as column arrays, metrics at fixed ages.

Day-7 metrics come from v_post_day7 and the other ages from v_metrics_at_age (sql/views/), so the
age rule lives in SQL only. A metric the platform does not publish stays NaN (NULL), never 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from scripts.timeutil import parse_utc

# the metric every comparison ranks by: TikTok publishes views for every post; Instagram
# publishes none for images and carousels, so likes stand in there
PRIMARY_METRIC = {"tiktok": "views", "instagram": "likes"}
# the interactions each platform publishes (engagement for the 80/20 dimension)
INTERACTIONS = {"tiktok": ("likes", "comments", "shares", "saves"), "instagram": ("likes", "comments")}
METRICS = ("views", "likes", "comments", "shares", "saves")
DAY = 7                         # the age every comparison is made at (v_post_day7)
EARLY_AGE = 3                   # growth curves: the share of later views that came after day 3 ...
LATE_AGES = (30, 21, 14, DAY)   # ... of the views at the first of these ages most posts were seen at
# "most posts": three quarters of the day-7 posts, so the posts compared are not a skewed few
# (those published just before a slow week)
LATE_COVERAGE = 0.75
TEXT_COLUMNS = ("format", "content_pillar", "hook_style", "cta", "topic")

DAY7_SQL = """
SELECT account_name, platform, post_id, published_at, published_local, topic, format, content_pillar,
       hook_style, cta, hook_score, slide_count, views, likes, comments, shares, saves
FROM v_post_day7 ORDER BY account_name, platform, published_at, post_id
"""
AGE_SQL = "SELECT post_id, views, likes FROM v_metrics_at_age WHERE age_day = ?"
POSTS_SQL = """
SELECT account_name, platform, post_id, published_at, format, content_pillar,
       coalesce(output_folder, post_id) AS content_key,
       coalesce(julianday(last_seen_at) - julianday(published_at), 0) AS followed_days
FROM posts WHERE published_at IS NOT NULL ORDER BY account_name, published_at, post_id
"""
THROUGH_SQL = "SELECT account_name, MAX(scraped_at) FROM raw_files GROUP BY account_name"


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _grouped_columns(db, sql: str, wanted: set[str], key: int) -> dict[tuple, dict[str, tuple]]:
    """A query's rows for the wanted accounts (column 0), grouped by its first `key` columns and
    turned into columns: column name -> values, in query order."""
    cursor = db.conn.execute(sql)
    names = [d[0] for d in cursor.description]
    groups: dict[tuple, list[tuple]] = {}
    for row in cursor:
        if row[0] in wanted:
            groups.setdefault(row[:key], []).append(row)
    return {group: dict(zip(names, zip(*rows))) for group, rows in groups.items()}


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
        return np.sum([self.day7[m] for m in INTERACTIONS[self.platform]], axis=0)


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


def _metrics_at(db, age: int) -> dict[str, tuple]:
    """post_id -> (views, likes) at one age; one age per query keeps SQLite's plan cheap."""
    return {row[0]: row[1:] for row in db.conn.execute(AGE_SQL, [age])}


def _add_growth(db, posts: list[PlatformPosts], followed_days: dict[str, float]) -> None:
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

    fill(EARLY_AGE, _metrics_at(db, EARLY_AGE))
    for age in LATE_AGES:
        pending = [p for p in posts if p.late_age is None and len(p) and reachable(p, age)]
        if not pending:
            continue
        fill(age, {} if age == DAY else _metrics_at(db, age))
        for p in pending:
            metric = PRIMARY_METRIC[p.platform]
            seen = np.isfinite(p.growth[(metric, EARLY_AGE)]) & np.isfinite(p.growth[(metric, age)])
            if seen.sum() >= LATE_COVERAGE * len(p):
                p.late_age = age


def read_all(db, accounts: list[str]) -> dict[str, AccountData]:
    """Every named account's data: a few queries over the views for all accounts at once."""
    wanted = set(accounts)
    platforms = {key: _platform_posts(*key, columns)
                 for key, columns in sorted(_grouped_columns(db, DAY7_SQL, wanted, key=2).items())}
    published: dict[str, list[PublishedPost]] = {a: [] for a in accounts}
    followed_days: dict[str, float] = {}  # how long the scraper kept seeing each post (days)
    for (account,), c in _grouped_columns(db, POSTS_SQL, wanted, key=1).items():
        followed_days.update(zip(c["post_id"], c["followed_days"]))
        published[account] = [PublishedPost(*fields) for fields in zip(
            c["platform"], c["post_id"], map(parse_utc, c["published_at"]), c["format"], c["content_pillar"],
            c["content_key"])]
    _add_growth(db, list(platforms.values()), followed_days)
    through = dict(db.execute(THROUGH_SQL).fetchall())
    return {account: AccountData(
        account=account, platforms={platform: p for (name, platform), p in platforms.items() if name == account},
        published=published[account], data_through=through.get(account))
        for account in accounts}
