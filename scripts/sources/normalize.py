"""Apify dataset items -> rows. Pure functions, no database: which items are posts, one post and
one snapshot per post, and why each unknown metric is unknown.

Field facts are from ../shared/research/apify.md, corrected where real 2026 output differs
(docs/real-data.md): TikTok (clockworks-like actors) publishes views, likes, comments, shares,
saves and reposts; Instagram publishes likes (-1 when hidden), comments, shares (only the reel
scraper's paid add-on delivers them) and views and plays only for videos. Whatever is unknown is
None (NULL), never 0, and carries its reason (MISSING_REASONS).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import itemgetter

from scripts.core.timeutil import parse_utc, to_iso

METRICS = ("views", "plays", "likes", "comments", "shares", "saves", "reposts")
ENGAGEMENT_COUNTERS = ("likes", "comments", "shares", "saves")

# Why a metric is NULL (metrics_snapshots.missing, v_missing_metrics). When one post comes in
# several items, the first reason in this order wins: the more telling one.
HIDDEN = "hidden"                # the owner hid it (Instagram likesCount -1)
UNFILLED = "unfilled"            # the field came but was not filled (Instagram videoViewCount 0 with plays)
INVALID = "invalid"              # the field holds no count (a string, a negative number, a fraction)
NOT_DELIVERED = "not_delivered"  # the platform shows it, the item of this source did not carry it
NOT_PUBLISHED = "not_published"  # the platform shows no such number (Instagram saves)
MISSING_REASONS = (HIDDEN, UNFILLED, INVALID, NOT_DELIVERED, NOT_PUBLISHED)

# What each platform publishes at all; Instagram shows views and plays for videos only.
PUBLISHED = {"tiktok": frozenset({"views", "likes", "comments", "shares", "saves", "reposts"}),
             "instagram": frozenset({"views", "plays", "likes", "comments", "shares"})}
INSTAGRAM_VIDEO_ONLY = frozenset({"views", "plays"})
# The interactions every post of a platform has, whatever the source: engagement rates and the
# analyzer's 80/20 dimension sum these, so posts stay comparable (Instagram shares come only from
# a paid add-on of one actor, and only for reels).
PUBLISHED_INTERACTIONS = {"tiktok": ("likes", "comments", "shares", "saves"), "instagram": ("likes", "comments")}

# Items that are not posts, by the reason they are counted under (load reports them per file).
ERROR_ITEM = "error items"
PROFILE_RECORD = "profile records"
NO_ID = "items without an id"
# "error": "partial_data" flags an item that is otherwise a post: it is stored (what it lacks is
# NULL with its reason) and counted in the file's line.
PARTIAL = "partial_data"
# Profile records (Instagram profile scraper, other vendors' TikTok profile actors) are told from
# posts by their counters, and from posts that carry them by lacking the post's own fields.
PROFILE_MARKERS = {"tiktok": ("follower_count", "followerCount"), "instagram": ("followersCount", "latestPosts")}
POST_MARKERS = {"tiktok": ("createTime", "createTimeISO", "playCount"), "instagram": ("shortCode",)}
# No TikTok video is longer than an hour: an actor whose "duration" exceeds it counts milliseconds
# (scrapeforge/tiktok-posts; clockworks sends seconds, docs/real-data.md). Which actor sent an item
# is told by its layout: clockworks always sends isSlideshow, the clockworks-like actors seen do not.
MAX_TIKTOK_SECONDS = 3600
TIKTOK_OWNER_IN_URL = re.compile(r"tiktok\.com/@([^/?#]+)/")


@dataclass(slots=True)  # slots: load makes one per item, a million a year of 50 accounts
class NormalizedItem:
    post: dict
    metrics: dict
    published: datetime | None
    missing: dict = field(default_factory=dict)    # metric -> reason, for each None in metrics
    owner: str | None = None                        # the owner's handle, lower case, if the item names one
    owner_id: str | None = None
    coauthors: frozenset = frozenset()              # co-authors' handles, lower case (Instagram collabs)
    platform: str | None = None
    layout: str = ""                                # the actor layout it came in (TikTok duration units)


SQLITE_MAX_INT = 2**63 - 1


class ImpossibleValue(ValueError):
    """A value no platform can hold (a counter beyond SQLite's integers): the file's rejection."""


def count(value) -> int | None:
    """A platform counter, or None when absent, hidden (-1), negative, or not a number. A counter
    beyond SQLite's 64-bit integers is no real count: ImpossibleValue."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        return None
    if value > SQLITE_MAX_INT:
        raise ImpossibleValue(f"counter {value} is beyond SQLite's 64-bit integers")
    return value


# A post's publishing time comes again, as the same text, in every daily file that lists it
_parsed_text = lru_cache(maxsize=1 << 16)(parse_utc)


def _published(value) -> datetime | None:
    """parse_utc, remembered for text (a datetime is immutable, so one can be shared)."""
    return _parsed_text(value) if type(value) is str else parse_utc(value)


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


_EMPTY: dict = {}  # what a missing sub-object reads as (never written to)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else _EMPTY


def _list_len(value) -> int:
    return len(value) if isinstance(value, list) else 0


def _flag(value) -> int | None:
    """1 / 0 for a real boolean; None when absent or anything else: a missing flag is unknown, not false."""
    return int(value) if isinstance(value, bool) else None


def _id_text(value) -> str | None:
    if type(value) is str:  # the common case first: load reads a million of these
        return value.strip() or None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def handle(value) -> str | None:
    """A profile handle as compared everywhere: case-insensitive, without a leading @."""
    if not isinstance(value, str):
        return None
    return value.strip().lstrip("@").lower() or None


def _seconds(value) -> float | None:
    """A duration that can be one: a finite positive number (0 is a photo post's, not a length)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e12:
        return None  # NaN and infinities fail the comparison too
    return float(value)


def _hashtags(value) -> str | None:
    """A JSON array of the hashtag names: TikTok lists {name, ...}, Instagram plain strings."""
    if not isinstance(value, list):
        return None
    names = [tag.get("name") if type(tag) is dict else tag for tag in value]
    return _json_names(tuple([n for n in names if type(n) is str and n]))


@lru_cache(maxsize=4096)
def _json_names(names: tuple) -> str:
    """A post's hashtags come again in every daily file that lists it: encoded once."""
    return json.dumps(list(names), ensure_ascii=False)


def coauthors(value) -> frozenset:
    """coauthorProducers: objects with a username (real 2026 items) or plain handles."""
    if not isinstance(value, list):
        return frozenset()
    names = (handle(c.get("username")) if isinstance(c, dict) else handle(c) for c in value)
    return frozenset(n for n in names if n)


@lru_cache(maxsize=16)
def _absent(platform: str, video: bool | None) -> dict[str, str]:
    """metric -> the reason it is NULL when its field is absent: the platform never shows it, or this
    source did not deliver it. An Instagram item of unknown type may be a video: not delivered."""
    def reason(metric: str) -> str:
        if metric not in PUBLISHED[platform]:
            return NOT_PUBLISHED
        if platform == "instagram" and video is False and metric in INSTAGRAM_VIDEO_ONLY:
            return NOT_PUBLISHED
        return NOT_DELIVERED
    return {metric: reason(metric) for metric in METRICS}


def _counters(raw: dict, absent: dict, hides: bool) -> tuple[dict, dict]:
    """(metric -> count or None, metric -> reason for each None) from the raw field values. An empty
    string is an absent field (flattened exports); -1 is a hidden count where the platform hides them."""
    metrics, missing = {}, {}
    for metric, value in raw.items():
        if type(value) is int and 0 <= value <= SQLITE_MAX_INT:  # the common case: a count, as count() says
            metrics[metric] = value
            continue
        number = count(value)
        metrics[metric] = number
        if number is None:
            if value is None or value == "":
                missing[metric] = absent[metric]
            else:
                missing[metric] = HIDDEN if hides and value == -1 and not isinstance(value, bool) else INVALID
    return metrics, missing


def non_post(platform: str, item: dict) -> str | None:
    """Why an item is not a post (ERROR_ITEM, PROFILE_RECORD, NO_ID), or None for a post. Checked
    before the id, so a profile record's owner id never makes a fake post."""
    error = item.get("error")
    if error and error != PARTIAL:
        return ERROR_ITEM
    keys = item.keys()  # keys().isdisjoint(few) looks the few up, without walking the item
    if not keys.isdisjoint(PROFILE_MARKERS[platform]) and keys.isdisjoint(POST_MARKERS[platform]):
        return PROFILE_RECORD
    return NO_ID if _post_id(platform, item) is None else None


def _post_id(platform: str, item: dict) -> str | None:
    """TikTok's id; Instagram's shortCode (its URLs use it), else its numeric id."""
    if platform == "tiktok":
        return _id_text(item.get("id"))
    return _id_text(item.get("shortCode")) or _id_text(item.get("id"))


def _tiktok_photo(flag, image_post, duration, images: int) -> bool:
    """A photo post: isSlideshow says so; where the actor sends no isSlideshow (older and other
    clockworks-like layouts), an imagePost, or images without a duration, do."""
    if isinstance(flag, bool):
        return flag
    return isinstance(image_post, dict) or (images > 0 and duration in (0, None))


def _tiktok_post(item: dict) -> NormalizedItem:
    # the helpers above inlined (item.get bound once, _dict as isinstance): load runs this for every
    # TikTok item; normalize_tiktok's results are the same (tests/test_normalize.py)
    get = item.get
    video, music, author = get("videoMeta"), get("musicMeta"), get("authorMeta")
    video = video if isinstance(video, dict) else _EMPTY
    music = music if isinstance(music, dict) else _EMPTY
    author = author if isinstance(author, dict) else _EMPTY
    image_post = get("imagePost")
    images = _list_len(get("slideshowImageLinks")) or _list_len(_dict(image_post).get("images"))
    photo = _tiktok_photo(get("isSlideshow"), image_post, video.get("duration"), images)
    # the owner: authorMeta.name (clockworks) or .uniqueId; layouts without authorMeta still name the
    # owner in webVideoUrl (https://www.tiktok.com/@<handle>/video/<id>)
    owner = handle(author.get("name")) or handle(author.get("uniqueId"))
    url = get("webVideoUrl")
    if not isinstance(url, str):
        url = None
    elif owner is None:
        found = TIKTOK_OWNER_IN_URL.search(url)
        owner = handle(found.group(1)) if found else None
    caption, music_name = get("text"), music.get("musicName")
    post = {
        "post_id": _post_id("tiktok", item),
        "post_url": url,
        "caption": caption if isinstance(caption, str) else None,
        "media_type": "slideshow" if photo else "video",
        "media_slide_count": (images or None) if photo else None,
        "is_pinned": 1 if get("isPinned") is True else 0,
        "owner_username": owner,
        "duration_s": None if photo else _seconds(video.get("duration")),  # unit: tiktok_seconds, per file
        "music_id": _id_text(music.get("musicId")),
        "music_name": music_name if isinstance(music_name, str) else None,
        "music_original": _flag(music.get("musicOriginal")),
        "hashtags": _hashtags(get("hashtags")),
        "product_type": None,
        "is_ad": _flag(get("isAd")),
        "is_sponsored": _flag(get("isSponsored")),
    }
    raw = {"views": get("playCount"), "plays": None, "likes": get("diggCount"),
           "comments": get("commentCount"), "shares": get("shareCount"),
           "saves": get("collectCount"), "reposts": get("repostCount")}
    metrics, missing = _counters(raw, _absent("tiktok", not photo), hides=False)
    published = _published(get("createTimeISO")) or _published(get("createTime"))
    return NormalizedItem(post, metrics, published, missing, owner, _id_text(author.get("id")), platform="tiktok",
                          layout="clockworks" if "isSlideshow" in item else "clockworks-like")


INSTAGRAM_TYPES = {"Image": "image", "Video": "video", "Sidecar": "carousel"}


def _instagram_slides(item: dict, media_type: str | None) -> int | None:
    if media_type == "image":
        return 1
    if media_type != "carousel":
        return None
    # slides are listed in childPosts or images (detailed actors, profile latestPosts), in
    # carouselImages or only counted in older samples; the slim post scraper lists none
    declared = count(item.get("carouselImageCount")) or 0
    listed = max(_list_len(item.get("childPosts")), _list_len(item.get("images")),
                 _list_len(item.get("carouselImages")))
    return max(declared, listed) or None


def _sponsored(item: dict) -> int | None:
    """Sponsored if either flag says so; not sponsored only if one says that; else unknown."""
    ad, partnership = item.get("isSponsored"), item.get("paidPartnership")
    if ad is True or partnership is True:
        return 1
    return 0 if ad is False or partnership is False else None


def _instagram_post(item: dict) -> NormalizedItem:
    get = item.get  # bound once: load runs this for every Instagram item
    code = _post_id("instagram", item)
    media_type = INSTAGRAM_TYPES.get(get("type"))
    product = _text(get("productType"))
    video = True if media_type == "video" or product == "clips" else (False if media_type else None)
    music = get("musicInfo")
    music = music if isinstance(music, dict) else _EMPTY
    owner = handle(get("ownerUsername"))
    post = {
        "post_id": code,
        "post_url": _text(get("url")) or f"https://www.instagram.com/p/{code}/",
        "caption": _text(get("caption")),
        "media_type": media_type,
        "media_slide_count": _instagram_slides(item, media_type),
        "is_pinned": 1 if get("isPinned") is True else 0,
        "owner_username": owner,
        "duration_s": _seconds(get("videoDuration")) if video is not False else None,
        "music_id": _id_text(music.get("audio_id")),
        "music_name": _text(music.get("song_name")),
        "music_original": _flag(music.get("uses_original_audio")),
        "hashtags": _hashtags(get("hashtags")),
        "product_type": product,
        "is_ad": None,
        "is_sponsored": _sponsored(item),
    }
    views = video is not False
    raw = {"views": get("videoViewCount") if views else None, "plays": get("videoPlayCount") if views else None,
           "likes": get("likesCount"), "comments": get("commentsCount"), "shares": get("sharesCount"),
           "saves": None, "reposts": None}
    metrics, missing = _counters(raw, _absent("instagram", video), hides=True)
    if metrics["views"] == 0 and (metrics["plays"] or 0) > 0 and (metrics["likes"] or 0) > 0:
        metrics["views"], missing["views"] = None, UNFILLED  # played and liked, so seen: not zero views
    coauthor_list = get("coauthorProducers")
    return NormalizedItem(post, metrics, _published(get("timestamp")), missing, owner, _id_text(get("ownerId")),
                          coauthors(coauthor_list) if coauthor_list else frozenset(), "instagram")


POST_READERS = {"tiktok": _tiktok_post, "instagram": _instagram_post}


def normalize_tiktok(item: dict) -> NormalizedItem | None:
    """One TikTok item as a post, or None if it is not one (non_post)."""
    return None if non_post("tiktok", item) else _tiktok_post(item)


def normalize_instagram(item: dict) -> NormalizedItem | None:
    """One Instagram item as a post, or None if it is not one (non_post)."""
    return None if non_post("instagram", item) else _instagram_post(item)


NORMALIZERS = {"tiktok": normalize_tiktok, "instagram": normalize_instagram}


def profile_record(platform: str, item: dict) -> tuple[str | None, dict, list]:
    """(handle, profile_snapshots counters, posts it lists) of a profile record."""
    if platform == "instagram":
        counters = {"followers": count(item.get("followersCount")), "following": count(item.get("followsCount")),
                    "likes_total": None, "posts_total": count(item.get("postsCount"))}
        latest = item.get("latestPosts")
        return handle(item.get("username")), counters, latest if isinstance(latest, list) else []
    counters = {"followers": count(item.get("follower_count", item.get("followerCount"))),
                "following": count(item.get("following_count", item.get("followingCount"))),
                "likes_total": count(item.get("heart_count", item.get("heartCount"))),
                "posts_total": count(item.get("video_count", item.get("videoCount")))}
    return handle(item.get("username")), counters, []  # recent_videos: no known layout to read


@dataclass
class ItemsRead:
    """An envelope's items read: its posts, and what the others were, for the file's report."""
    posts: list[NormalizedItem]
    skipped: Counter                                 # reason -> items not stored as posts
    examples: dict = field(default_factory=dict)     # reason -> an example of it, for the report
    errors: Counter = field(default_factory=Counter)  # an error item's "error" -> items
    profiles: list = field(default_factory=list)     # (handle, counters) of each profile record
    duplicates: int = 0                              # listings merged into a post listed before
    partial: int = 0                                 # posts flagged "error": "partial_data"


def _error_code(item: dict) -> str:
    error = item.get("error")
    return error[:60] if isinstance(error, str) else type(error).__name__


def _not_a_post(read: ItemsRead, platform: str, reason: str, item: dict) -> None:
    read.skipped[reason] += 1
    if reason == ERROR_ITEM:
        read.errors[_error_code(item)] += 1
    elif reason == PROFILE_RECORD:
        username, counters, latest = profile_record(platform, item)
        read.profiles.append((username, counters))
        read.examples.setdefault(reason, username or "no username")
        read.posts.extend(POST_READERS[platform](p) for p in latest
                          if isinstance(p, dict) and non_post(platform, p) is None)
    else:
        read.examples.setdefault(reason, "keys " + ", ".join(list(item)[:4]))


def read_items(platform: str, items: list[dict]) -> ItemsRead:
    """Every item of an envelope sorted into posts (one per post id, merged from every listing:
    post scraper, reel scraper, a profile record's latestPosts) and counted non-posts."""
    read = ItemsRead([], Counter())
    reader = POST_READERS[platform]
    for index, item in enumerate(items):
        try:
            reason = non_post(platform, item)
            if reason is None:
                read.posts.append(reader(item))
                read.partial += item.get("error") == PARTIAL
            else:
                _not_a_post(read, platform, reason, item)
        except ImpossibleValue as exc:
            raise ImpossibleValue(f"items/{index}: {exc}") from None
    if platform == "tiktok":
        tiktok_seconds(read.posts)  # before merging: each listing in its own actor's unit
    read.posts, read.duplicates = dedupe(read.posts)
    return read


def tiktok_seconds(posts: list[NormalizedItem]) -> None:
    """The durations of one actor in one file share a unit: if any is longer than a TikTok video
    can be, that actor counts milliseconds, and each of its durations is divided by 1000."""
    longest: dict[str, float] = {}
    for p in posts:
        if p.post["duration_s"] is not None:
            longest[p.layout] = max(longest.get(p.layout, 0.0), p.post["duration_s"])
    in_ms = {layout for layout, seconds in longest.items() if seconds > MAX_TIKTOK_SECONDS}
    for p in posts:
        if p.layout in in_ms and p.post["duration_s"] is not None:
            p.post["duration_s"] = round(p.post["duration_s"] / 1000, 3)


def _merge(first: NormalizedItem, later: NormalizedItem) -> None:
    """Fill what the first listing of a post lacks from a later one: the post scraper's reel has no
    views where the reel scraper's has them, its carousel no slides where latestPosts lists them."""
    for key, value in later.post.items():
        if first.post.get(key) is None:
            first.post[key] = value
    first.post["is_pinned"] = max(first.post["is_pinned"], later.post["is_pinned"])
    for metric, value in later.metrics.items():
        if first.metrics[metric] is not None:
            continue
        if value is not None:
            first.metrics[metric] = value
            first.missing.pop(metric, None)
        else:
            first.missing[metric] = min(first.missing[metric], later.missing[metric], key=MISSING_REASONS.index)
    first.published = first.published or later.published
    first.owner, first.owner_id = first.owner or later.owner, first.owner_id or later.owner_id
    first.coauthors = first.coauthors | later.coauthors


def dedupe(items: list[NormalizedItem]) -> tuple[list[NormalizedItem], int]:
    """One post per id, each field from the listing that has it: the same post comes more than once
    (pinned and latest, two profile sections, two actors' runs, a profile record's latestPosts)."""
    seen: dict[str, NormalizedItem] = {}
    for item in items:
        first = seen.setdefault(item.post["post_id"], item)
        if first is not item:
            _merge(first, item)
    return list(seen.values()), len(items) - len(seen)


def rates(metrics: dict, followers: int | None,
          counters: tuple[str, ...] = ENGAGEMENT_COUNTERS) -> tuple[float | None, float | None]:
    """(interactions / views, interactions / followers); None where unknown. The interactions are
    the known ones among `counters` (a platform's PUBLISHED_INTERACTIONS)."""
    known = [metrics[k] for k in counters if metrics.get(k) is not None]
    if not known:
        return None, None
    interactions = sum(known)
    views = metrics.get("views")
    by_views = interactions / views if views else None
    by_followers = interactions / followers if followers else None
    return by_views, by_followers


@lru_cache(maxsize=1024)
def _missing_json(pairs: tuple) -> str | None:
    """The missing column: few distinct combinations, so each is written once."""
    return json.dumps(dict(pairs)) if pairs else None


# a metrics_snapshots row (load writes these tuples as they are)
SNAPSHOT_COLUMNS = ("post_id", "scraped_at", "age_hours", *METRICS, "missing", "engagement_rate", "follower_rate",
                    "raw_file")
_metric_values = itemgetter(*METRICS)


def snapshot_values(item: NormalizedItem, scraped: datetime, followers: int | None, raw_file: str) -> tuple:
    """The snapshot row of a post, as a tuple in SNAPSHOT_COLUMNS order."""
    counters = PUBLISHED_INTERACTIONS.get(item.platform, ENGAGEMENT_COUNTERS)
    engagement, follower_rate = rates(item.metrics, followers, counters)
    age = (scraped - item.published).total_seconds() / 3600 if item.published else None
    return (item.post["post_id"], to_iso(scraped), round(age, 3) if age is not None else None,
            *_metric_values(item.metrics), _missing_json(tuple(item.missing.items())), engagement, follower_rate,
            raw_file)


def snapshot_row(item: NormalizedItem, scraped: datetime, followers: int | None, raw_file: str) -> dict:
    return dict(zip(SNAPSHOT_COLUMNS, snapshot_values(item, scraped, followers, raw_file)))


def profile_row(profile: dict | None) -> dict:
    profile = profile if isinstance(profile, dict) else {}
    return {key: count(profile.get(key)) for key in ("followers", "following", "likes_total", "posts_total")}
