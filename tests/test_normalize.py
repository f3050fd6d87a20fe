"""Normalisation of real-shaped actor items: NULL for what a platform does not publish."""
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scripts.sources.normalize import (count, dedupe, normalize_instagram, normalize_tiktok, profile_row, rates,
                               snapshot_row)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def tiktok_items():
    return json.loads((FIXTURES / "tiktok_items.json").read_text())


@pytest.fixture(scope="module")
def instagram_items():
    return json.loads((FIXTURES / "instagram_items.json").read_text())


def test_tiktok_slideshow_item(tiktok_items):
    item = normalize_tiktok(tiktok_items[0])
    assert item.post == {
        "post_id": "7535448384170331414",
        "post_url": "https://www.tiktok.com/@mymomskills/video/7535448384170331414",
        "caption": "5 bedtime habits that changed our nights\n\nSave this for tonight",
        "media_type": "slideshow", "media_slide_count": 3, "is_pinned": 1,
        "owner_username": "mymomskills", "duration_s": None, "music_id": "0", "music_name": "original sound",
        "music_original": 0, "hashtags": "[]", "product_type": None, "is_ad": 0, "is_sponsored": 0,
    }
    assert item.metrics == {"views": 348100, "plays": None, "likes": 3951, "comments": 111,
                            "shares": 38, "saves": 105, "reposts": None}
    # TikTok shows no separate plays; this clockworks layout carries no repostCount
    assert item.missing == {"plays": "not_published", "reposts": "not_delivered"}
    assert item.published == datetime(2025, 8, 6, 12, 28, 22, tzinfo=timezone.utc)


def test_tiktok_video_without_saves_field_is_null_not_zero(tiktok_items):
    item = normalize_tiktok(tiktok_items[1])
    assert item.post["media_type"] == "video"
    assert item.post["media_slide_count"] is None
    assert item.metrics["saves"] is None
    assert item.published == datetime.fromtimestamp(1754569702, tz=timezone.utc)


def test_tiktok_item_without_id_is_skipped(tiktok_items):
    assert normalize_tiktok(tiktok_items[3]) is None


def test_tiktok_hostile_fields_become_null(tiktok_items):
    item = normalize_tiktok(tiktok_items[4])
    assert item.post["caption"] is None
    assert item.post["media_type"] == "video"  # "yes" is not True
    assert item.post["is_pinned"] == 0         # 1 is not True
    assert item.published is None
    assert item.metrics == {"views": None, "plays": None, "likes": None, "comments": None,
                            "shares": None, "saves": 3, "reposts": None}
    assert item.missing == {"views": "invalid", "plays": "not_published", "likes": "invalid",
                            "comments": "not_delivered", "shares": "invalid", "reposts": "not_delivered"}


def test_instagram_sidecar_has_no_views_saves_or_shares(instagram_items):
    item = normalize_instagram(instagram_items[0])
    assert item.post["post_id"] == "DZ2pYCqgIeq"
    assert item.post["media_type"] == "carousel"
    assert item.post["media_slide_count"] == 5
    assert item.metrics == {"views": None, "plays": None, "likes": 39779, "comments": 135,
                            "shares": None, "saves": None, "reposts": None}
    assert item.missing == {"views": "not_published", "plays": "not_published", "shares": "not_delivered",
                            "saves": "not_published", "reposts": "not_published"}


def test_instagram_reel_keeps_views_and_plays_and_hidden_likes_are_null(instagram_items):
    item = normalize_instagram(instagram_items[1])
    assert item.post["media_type"] == "video"
    assert item.post["is_pinned"] == 1
    assert item.post["post_url"] == "https://www.instagram.com/p/DZ3reelAAAA/"
    assert item.metrics == {"views": 41365, "plays": 241820, "likes": None, "comments": 12,
                            "shares": None, "saves": None, "reposts": None}
    assert item.missing["likes"] == "hidden"
    assert (item.post["duration_s"], item.post["product_type"]) == (30.2, "clips")


def test_instagram_image_and_offset_timestamp(instagram_items):
    item = normalize_instagram(instagram_items[2])
    assert item.post["media_type"] == "image"
    assert item.post["media_slide_count"] == 1
    assert item.published == datetime(2026, 6, 23, 5, 0, tzinfo=timezone.utc)


def test_instagram_slides_from_any_list(instagram_items):
    assert normalize_instagram(instagram_items[3]).post["media_slide_count"] == 4


@pytest.mark.parametrize("value, expected", [(5, 5), (0, 0), (-1, None), (None, None), (True, None),
                                             ("12", None), (7.0, 7), (7.5, None)])
def test_count(value, expected):
    assert count(value) == expected


def test_rates_use_only_published_interactions():
    tiktok = {"views": 1000, "likes": 50, "comments": 5, "shares": 3, "saves": 2}
    assert rates(tiktok, 500) == (0.06, 0.12)
    instagram_carousel = {"views": None, "likes": 80, "comments": 20, "shares": None, "saves": None}
    assert rates(instagram_carousel, 1000) == (None, 0.1)
    nothing = {"views": 100, "likes": None, "comments": None, "shares": None, "saves": None}
    assert rates(nothing, 1000) == (None, None)


def test_snapshot_row_age_and_rates(tiktok_items):
    item = normalize_tiktok(tiktok_items[1])
    scraped = datetime.fromtimestamp(1754569702 + 7 * 86400, tz=timezone.utc)
    row = snapshot_row(item, scraped, followers=1000, raw_file="data/raw/x.json")
    assert row["age_hours"] == 168.0
    assert row["engagement_rate"] == pytest.approx((120 + 4 + 7) / 2300)
    assert row["follower_rate"] == pytest.approx(131 / 1000)
    assert row["scraped_at"] == "2025-08-14T12:28:22Z"


def test_dedupe_keeps_first_occurrence(tiktok_items):
    items = [normalize_tiktok(i) for i in tiktok_items]
    unique, dropped = dedupe([i for i in items if i])
    assert dropped == 1
    assert [i.post["post_id"] for i in unique] == ["7535448384170331414", "7535500000000000001",
                                                   "7535600000000000002"]
    assert unique[0].post["is_pinned"] == 1


def test_profile_row_nulls_unknown_counts():
    assert profile_row(None) == {"followers": None, "following": None, "likes_total": None, "posts_total": None}
    assert profile_row({"followers": 18400, "following": -1, "likes_total": "x"})["followers"] == 18400
