"""Apify dataset items -> rows. Pure functions: one platform item in, one post and one snapshot out.

Field facts are from ../shared/research/apify.md: TikTok (clockworks actors) publishes views,
likes, comments, shares and saves; Instagram publishes likes (-1 when hidden) and comments, and
views only for videos. Whatever is not published is None (NULL), never 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scripts.core.timeutil import parse_utc, to_iso

METRICS = ("views", "plays", "likes", "comments", "shares", "saves")
ENGAGEMENT_COUNTERS = ("likes", "comments", "shares", "saves")


@dataclass
class NormalizedItem:
    post: dict
    metrics: dict
    published: datetime | None


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


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _list_len(value) -> int:
    return len(value) if isinstance(value, list) else 0


def normalize_tiktok(item: dict) -> NormalizedItem | None:
    post_id = item.get("id")
    if not isinstance(post_id, (str, int)) or isinstance(post_id, bool) or not str(post_id).strip():
        return None
    slideshow = item.get("isSlideshow") is True
    published = parse_utc(item.get("createTimeISO")) or parse_utc(item.get("createTime"))
    post = {
        "post_id": str(post_id).strip(),
        "post_url": _text(item.get("webVideoUrl")),
        "caption": _text(item.get("text")),
        "media_type": "slideshow" if slideshow else "video",
        "media_slide_count": _list_len(item.get("slideshowImageLinks")) or None if slideshow else None,
        "is_pinned": 1 if item.get("isPinned") is True else 0,
    }
    metrics = {
        "views": count(item.get("playCount")),
        "plays": None,
        "likes": count(item.get("diggCount")),
        "comments": count(item.get("commentCount")),
        "shares": count(item.get("shareCount")),
        "saves": count(item.get("collectCount")),
    }
    return NormalizedItem(post, metrics, published)


INSTAGRAM_TYPES = {"Image": "image", "Video": "video", "Sidecar": "carousel"}


def _instagram_slides(item: dict, media_type: str | None) -> int | None:
    if media_type == "image":
        return 1
    if media_type != "carousel":
        return None
    # slides may be listed in childPosts, images or carouselImages, or only counted
    declared = count(item.get("carouselImageCount")) or 0
    listed = max(_list_len(item.get(k)) for k in ("childPosts", "images", "carouselImages"))
    return max(declared, listed) or None


def normalize_instagram(item: dict) -> NormalizedItem | None:
    code = item.get("shortCode") or item.get("id")
    if not isinstance(code, (str, int)) or isinstance(code, bool) or not str(code).strip():
        return None
    code = str(code).strip()
    media_type = INSTAGRAM_TYPES.get(item.get("type"))
    is_video = media_type == "video" or item.get("productType") == "clips"
    post = {
        "post_id": code,
        "post_url": _text(item.get("url")) or f"https://www.instagram.com/p/{code}/",
        "caption": _text(item.get("caption")),
        "media_type": media_type,
        "media_slide_count": _instagram_slides(item, media_type),
        "is_pinned": 1 if item.get("isPinned") is True else 0,
    }
    metrics = {
        "views": count(item.get("videoViewCount")) if is_video else None,
        "plays": count(item.get("videoPlayCount")) if is_video else None,
        "likes": count(item.get("likesCount")),
        "comments": count(item.get("commentsCount")),
        "shares": None,  # not public on Instagram
        "saves": None,   # not public on Instagram
    }
    return NormalizedItem(post, metrics, parse_utc(item.get("timestamp")))


NORMALIZERS = {"tiktok": normalize_tiktok, "instagram": normalize_instagram}


def rates(metrics: dict, followers: int | None) -> tuple[float | None, float | None]:
    """(published interactions / views, published interactions / followers); None where unknown."""
    known = [metrics[k] for k in ENGAGEMENT_COUNTERS if metrics.get(k) is not None]
    if not known:
        return None, None
    interactions = sum(known)
    views = metrics.get("views")
    by_views = interactions / views if views else None
    by_followers = interactions / followers if followers else None
    return by_views, by_followers


def snapshot_row(item: NormalizedItem, scraped: datetime, followers: int | None, raw_file: str) -> dict:
    engagement, follower_rate = rates(item.metrics, followers)
    age = (scraped - item.published).total_seconds() / 3600 if item.published else None
    return {"post_id": item.post["post_id"], "scraped_at": to_iso(scraped),
            "age_hours": round(age, 3) if age is not None else None, **item.metrics,
            "engagement_rate": engagement, "follower_rate": follower_rate, "raw_file": raw_file}


def profile_row(profile: dict | None) -> dict:
    profile = profile if isinstance(profile, dict) else {}
    return {key: count(profile.get(key)) for key in ("followers", "following", "likes_total", "posts_total")}


def dedupe(items: list[NormalizedItem]) -> tuple[list[NormalizedItem], int]:
    """One row per post: the same post can come twice (pinned + latest, two profile sections)."""
    seen: dict[str, NormalizedItem] = {}
    for item in items:
        seen.setdefault(item.post["post_id"], item)
    return list(seen.values()), len(items) - len(seen)
