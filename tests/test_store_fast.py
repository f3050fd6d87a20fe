"""scripts/store in process: prepare_file + store_file on envelopes built from the recorded actor items
(tests/fixtures), the text classes of their real captions, and backfill's matching functions on small
hand-made folders and posts. No subprocess, no demo world: a fresh database per test (conftest.fresh_db).

The end-to-end tests (test_load, test_backfill, test_classify, test_normalize) run the steps as make
does; these pin the functions' own contracts: what a PreparedFile holds, what one store writes and what
a second one leaves alone, and how scores, windows and ties decide a match.
"""
from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scripts.core.workspace import Workspace
from scripts.store.backfill import (
    Folder,
    FolderError,
    Post,
    Settings,
    assign,
    backfill_values,
    candidate_pairs,
    match_platform,
    read_folder,
    read_post_rows,
    text_similarity,
    to_post,
)
from scripts.store.classify import PillarMatcher, cta, first_line, hook_style
from scripts.store.load import RejectedFile, prepare_file, store_file
from tests.conftest import raw_envelope, recorded_items, write_raw

NEW_YORK = ZoneInfo("America/New_York")
TIKTOK_SCRAPED = "2025-08-13T08:00:04Z"      # a week after the recorded slideshow was published
INSTAGRAM_SCRAPED = "2026-06-25T08:00:00Z"
TIKTOK_PROFILE = {"followers": 18400, "following": 12, "likes_total": 210000, "posts_total": 231}
SLIDESHOW, VIDEO, HOSTILE = "7535448384170331414", "7535500000000000001", "7535600000000000002"
PILLARS = {"sleep_routines": ["sleep", "bedtime", "nap", "night"],
           "picky_eating": ["picky", "food", "meal", "eat"],
           "tantrum_management": ["tantrum", "meltdown"],
           "mom_life": ["mom", "morning"]}


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """The workspace whose database fresh_db opened (both live at tmp_path)."""
    return Workspace(tmp_path)


def store(ws, db, envelope, stamp=None, tz=NEW_YORK):
    return store_file(db, prepare_file(ws, write_raw(ws, envelope, stamp), tz))


def tiktok_envelope(scraped_at=TIKTOK_SCRAPED, items=None, **more):
    return raw_envelope("tiktok", recorded_items("tiktok") if items is None else items, scraped_at=scraped_at,
                        profile=TIKTOK_PROFILE, **more)


def instagram_envelope(scraped_at=INSTAGRAM_SCRAPED, items=None):
    return raw_envelope("instagram", recorded_items("instagram") if items is None else items,
                        scraped_at=scraped_at, profile={"followers": 9000})


def rows(db, sql, params=()):
    return [dict(r) for r in db.query(sql, params)]


def table_counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("posts", "metrics_snapshots", "metrics_at_age", "profile_snapshots", "scrape_runs", "raw_files")}


# --- prepare_file: one envelope read, checked and normalized, no database ---------------------------

def test_prepare_tiktok_counts_every_item_and_builds_one_row_per_post(ws):
    prepared = prepare_file(ws, write_raw(ws, tiktok_envelope()), NEW_YORK)
    assert (prepared.account, prepared.platform, prepared.item_count) == ("mymomskills", "tiktok", 5)
    # the item without an id is skipped, the slideshow listed again under "reposts" is a duplicate
    assert (sum(prepared.skipped.values()), prepared.duplicates) == (1, 1)
    assert [r["post_id"] for r in prepared.post_rows] == [SLIDESHOW, VIDEO, HOSTILE]
    first = prepared.post_rows[0]
    assert {k: first[k] for k in ("seen", "published_at", "published_local", "is_pinned", "media_slide_count")} == \
        {"seen": TIKTOK_SCRAPED, "published_at": "2025-08-06T12:28:22Z", "published_local": "2025-08-06T08:28:22",
         "is_pinned": 1, "media_slide_count": 3}  # the first listing (pinned, in "videos") is the one kept
    assert prepared.profile == {"account_name": "mymomskills", "platform": "tiktok", "scraped_at": TIKTOK_SCRAPED,
                                **TIKTOK_PROFILE}
    rel = "data/raw/tiktok/mymomskills/20250813T080004Z.json"
    assert prepared.scrape_run["raw_file"] == prepared.raw_file["path"] == rel
    assert prepared.scrape_run["actor"] == "clockworks/tiktok-profile-scraper"
    assert prepared.raw_file["item_count"] == 5 and prepared.raw_file["size"] == (ws.root / rel).stat().st_size


def test_prepare_without_profile_has_no_profile_row_and_no_follower_rate(ws):
    envelope = {**tiktok_envelope(), "profile": None}
    prepared = prepare_file(ws, write_raw(ws, envelope), NEW_YORK)
    assert prepared.profile is None
    assert {s["follower_rate"] for s in prepared.snapshots} == {None}
    assert prepared.snapshots[0]["engagement_rate"] == pytest.approx((3951 + 111 + 38 + 105) / 348100)


def test_prepare_rejects_an_envelope_filed_under_another_account(ws):
    path = write_raw(ws, tiktok_envelope())
    moved = ws.raw_path("tiktok", "someoneelse", path.stem)
    moved.parent.mkdir(parents=True)
    path.rename(moved)
    with pytest.raises(RejectedFile, match="envelope says tiktok/mymomskills but the file lies under "
                                           "tiktok/someoneelse"):
        prepare_file(ws, moved, NEW_YORK)


# --- store_file: TikTok ------------------------------------------------------------------------------

def test_store_tiktok_writes_posts_and_snapshots_with_null_for_what_is_missing(ws, fresh_db):
    result = store(ws, fresh_db, tiktok_envelope())
    assert (result.items, result.new_posts, sum(result.skipped.values()), result.duplicates) == (5, 3, 1, 1)
    snapshots = {r["post_id"]: r for r in rows(fresh_db, "SELECT * FROM metrics_snapshots")}
    assert set(snapshots) == {SLIDESHOW, VIDEO, HOSTILE}
    pick = ("scraped_at", "age_hours", "views", "plays", "likes", "comments", "shares", "saves", "raw_file")
    assert {k: snapshots[SLIDESHOW][k] for k in pick} == {
        "scraped_at": TIKTOK_SCRAPED, "age_hours": 163.528, "views": 348100, "plays": None, "likes": 3951,
        "comments": 111, "shares": 38, "saves": 105, "raw_file": "data/raw/tiktok/mymomskills/20250813T080004Z.json"}
    assert snapshots[SLIDESHOW]["engagement_rate"] == pytest.approx(4205 / 348100)
    assert snapshots[SLIDESHOW]["follower_rate"] == pytest.approx(4205 / 18400)
    # the video's item has no collectCount: saves unknown (NULL), not 0
    assert {k: snapshots[VIDEO][k] for k in ("age_hours", "views", "likes", "shares", "saves")} == \
        {"age_hours": 139.528, "views": 2300, "likes": 120, "shares": 4, "saves": None}
    # the hostile item: strings, negatives and booleans are unknown; only collectCount 3.0 is a count
    assert {k: snapshots[HOSTILE][k] for k in pick[1:8]} == {
        "age_hours": None, "views": None, "plays": None, "likes": None, "comments": None, "shares": None, "saves": 3}
    assert snapshots[HOSTILE]["engagement_rate"] is None
    posts = {r["post_id"]: r for r in rows(fresh_db, "SELECT * FROM posts")}
    assert {(p["account_name"], p["platform"], p["first_seen_at"], p["last_seen_at"]) for p in posts.values()} == \
        {("mymomskills", "tiktok", TIKTOK_SCRAPED, TIKTOK_SCRAPED)}
    assert posts[HOSTILE]["caption"] is None and posts[HOSTILE]["published_at"] is None
    assert rows(fresh_db, "SELECT raw_file, item_count, new_posts, run_id, dataset_id FROM scrape_runs") == [
        {"raw_file": "data/raw/tiktok/mymomskills/20250813T080004Z.json", "item_count": 5, "new_posts": 3,
         "run_id": "run-tiktok", "dataset_id": "ds-tiktok"}]
    assert rows(fresh_db, "SELECT followers, following, likes_total, posts_total FROM profile_snapshots") == \
        [TIKTOK_PROFILE]


def test_second_store_of_the_same_file_adds_nothing(ws, fresh_db):
    path = write_raw(ws, tiktok_envelope())
    store_file(fresh_db, prepare_file(ws, path, NEW_YORK))
    before = table_counts(fresh_db)
    snapshots = rows(fresh_db, "SELECT * FROM metrics_snapshots ORDER BY id")
    posts = rows(fresh_db, "SELECT * FROM posts ORDER BY id")
    again = store_file(fresh_db, prepare_file(ws, path, NEW_YORK))
    assert again.new_posts == 0 and again.items == 5
    assert table_counts(fresh_db) == before == {"posts": 3, "metrics_snapshots": 3, "metrics_at_age": 0,
                                                "profile_snapshots": 1, "scrape_runs": 1, "raw_files": 1}
    assert rows(fresh_db, "SELECT * FROM metrics_snapshots ORDER BY id") == snapshots
    assert rows(fresh_db, "SELECT * FROM posts ORDER BY id") == posts


def test_second_store_of_the_same_file_keeps_its_runs_new_posts(ws, fresh_db):
    path = write_raw(ws, tiktok_envelope())
    store_file(fresh_db, prepare_file(ws, path, NEW_YORK))
    store_file(fresh_db, prepare_file(ws, path, NEW_YORK))
    assert rows(fresh_db, "SELECT new_posts FROM scrape_runs") == [{"new_posts": 3}]


def bumped(items: list[dict], views: int, likes: int, pinned: bool) -> list[dict]:
    first = {**items[0], "playCount": views, "diggCount": likes, "isPinned": pinned}
    return [first, *items[1:]]


def test_newer_snapshot_updates_the_counters_and_keeps_the_history(ws, fresh_db):
    store(ws, fresh_db, tiktok_envelope())
    later = "2025-08-14T08:00:04Z"
    result = store(ws, fresh_db, tiktok_envelope(later, bumped(recorded_items("tiktok"), 400000, 4500, False)))
    assert result.new_posts == 0
    history = rows(fresh_db, "SELECT scraped_at, age_hours, views, likes FROM metrics_snapshots WHERE post_id = ? "
                             "ORDER BY scraped_at", [SLIDESHOW])
    assert history == [{"scraped_at": TIKTOK_SCRAPED, "age_hours": 163.528, "views": 348100, "likes": 3951},
                       {"scraped_at": later, "age_hours": 187.528, "views": 400000, "likes": 4500}]
    latest = rows(fresh_db, "SELECT views, likes, saves, is_pinned, scraped_at FROM v_post_performance "
                            "WHERE post_id = ?", [SLIDESHOW])
    assert latest == [{"views": 400000, "likes": 4500, "saves": 105, "is_pinned": 0, "scraped_at": later}]
    assert rows(fresh_db, "SELECT first_seen_at, last_seen_at FROM posts WHERE post_id = ?", [SLIDESHOW]) == \
        [{"first_seen_at": TIKTOK_SCRAPED, "last_seen_at": later}]
    # the second scrape is the slideshow's first at day 7 or later (within 36 hours): its day-7 metrics
    assert rows(fresh_db, "SELECT post_id, age_day, views FROM metrics_at_age") == \
        [{"post_id": SLIDESHOW, "age_day": 7, "views": 400000}]
    assert rows(fresh_db, "SELECT count(*) AS n FROM profile_snapshots") == [{"n": 2}]


def test_older_scrape_stored_after_a_newer_one_changes_neither_latest_metrics_nor_pin(ws, fresh_db):
    later = "2025-08-14T08:00:04Z"
    store(ws, fresh_db, tiktok_envelope(later, bumped(recorded_items("tiktok"), 400000, 4500, False)))
    store(ws, fresh_db, tiktok_envelope())  # an older export dropped into data/raw/ afterwards
    assert rows(fresh_db, "SELECT views, is_pinned FROM v_post_performance WHERE post_id = ?", [SLIDESHOW]) == \
        [{"views": 400000, "is_pinned": 0}]
    assert rows(fresh_db, "SELECT first_seen_at, last_seen_at FROM posts WHERE post_id = ?", [SLIDESHOW]) == \
        [{"first_seen_at": TIKTOK_SCRAPED, "last_seen_at": later}]


def test_older_scrape_stored_after_a_newer_one_keeps_the_newer_caption(ws, fresh_db):
    items = recorded_items("tiktok")
    edited = [{**items[0], "text": "5 bedtime habits that changed our nights (edited)"}, *items[1:]]
    store(ws, fresh_db, tiktok_envelope("2025-08-14T08:00:04Z", edited))
    store(ws, fresh_db, tiktok_envelope())
    assert rows(fresh_db, "SELECT caption FROM posts WHERE post_id = ?", [SLIDESHOW]) == \
        [{"caption": "5 bedtime habits that changed our nights (edited)"}]


def test_envelope_with_another_accounts_post_writes_nothing_at_all(ws, fresh_db):
    store(ws, fresh_db, tiktok_envelope())
    before = table_counts(fresh_db)
    stolen = recorded_items("tiktok")[:1]
    fresh = {"id": "7999000000000000001", "text": "a new post of the intruder", "playCount": 5}
    envelope = raw_envelope("tiktok", [fresh, *stolen], account="intruder", scraped_at="2025-08-14T08:00:00Z")
    with pytest.raises(RejectedFile, match=r"1 item\(s\) belong to another account's posts \(e.g. 7535448384170331414\)"):
        store(ws, fresh_db, envelope)
    # one transaction per file: not even the intruder's own new post, run or raw_files row
    assert table_counts(fresh_db) == before
    assert rows(fresh_db, "SELECT DISTINCT account_name FROM posts") == [{"account_name": "mymomskills"}]


# --- store_file: Instagram ---------------------------------------------------------------------------

def test_store_instagram_null_for_unpublished_metrics(ws, fresh_db):
    result = store(ws, fresh_db, instagram_envelope())
    assert (result.items, result.new_posts, sum(result.skipped.values()), result.duplicates) == (4, 4, 0, 0)
    got = {r["post_id"]: r for r in rows(fresh_db, "SELECT p.post_id, p.media_type, p.media_slide_count, p.is_pinned,"
                                                   " p.published_local, s.* FROM posts p JOIN metrics_snapshots s"
                                                   " USING (post_id)")}
    metrics = ("views", "plays", "likes", "comments", "shares", "saves")
    # no views on image or carousel posts, never saves or shares: NULL, not 0
    assert {k: got["DZ2pYCqgIeq"][k] for k in metrics} == \
        {"views": None, "plays": None, "likes": 39779, "comments": 135, "shares": None, "saves": None}
    assert got["DZ2pYCqgIeq"]["engagement_rate"] is None
    assert got["DZ2pYCqgIeq"]["follower_rate"] == pytest.approx((39779 + 135) / 9000)
    # the reel has views and plays; its likes are hidden (-1): NULL
    assert {k: got["DZ3reelAAAA"][k] for k in metrics} == \
        {"views": 41365, "plays": 241820, "likes": None, "comments": 12, "shares": None, "saves": None}
    assert {k: got["DZ4imageBBB"][k] for k in ("views", "likes", "comments", "media_slide_count")} == \
        {"views": None, "likes": 210, "comments": 3, "media_slide_count": 1}
    # +02:00 at 07:00 is 05:00Z, 01:00 in New York; the scrape came 51 hours later
    assert (got["DZ4imageBBB"]["published_local"], got["DZ4imageBBB"]["age_hours"]) == ("2026-06-23T01:00:00", 51.0)
    assert {pid: (r["media_type"], r["media_slide_count"], r["is_pinned"]) for pid, r in got.items()} == {
        "DZ2pYCqgIeq": ("carousel", 5, 0), "DZ3reelAAAA": ("video", None, 1), "DZ4imageBBB": ("image", 1, 0),
        "DZ5sidecarC": ("carousel", 4, 0)}
    assert rows(fresh_db, "SELECT followers, following FROM profile_snapshots") == \
        [{"followers": 9000, "following": None}]


def test_tiktok_and_instagram_of_one_account_live_side_by_side(ws, fresh_db):
    store(ws, fresh_db, tiktok_envelope())
    store(ws, fresh_db, instagram_envelope())
    assert rows(fresh_db, "SELECT platform, count(*) AS n FROM posts WHERE account_name = 'mymomskills' "
                          "GROUP BY platform ORDER BY platform") == \
        [{"platform": "instagram", "n": 4}, {"platform": "tiktok", "n": 3}]
    assert len(rows(fresh_db, "SELECT * FROM v_post_performance")) == 7


# --- hostile values: a rejection with a reason (SPEC, failure behaviour), never a traceback -------------

def test_impossible_scrape_date_rejects_the_file(ws):
    path = write_raw(ws, tiktok_envelope("2025-02-30T08:00:00Z"), stamp="20250228T080000Z")
    with pytest.raises(RejectedFile):
        prepare_file(ws, path, NEW_YORK)


def test_counter_beyond_sqlite_integers_rejects_the_file_and_writes_nothing(ws, fresh_db):
    items = recorded_items("tiktok")
    items[1]["playCount"] = 2 ** 63
    with pytest.raises(RejectedFile):
        store(ws, fresh_db, tiktok_envelope(items=items))
    assert table_counts(fresh_db)["posts"] == 0


def test_deeply_nested_item_rejects_the_file(ws):
    path = write_raw(ws, tiktok_envelope(items=[]))
    text = path.read_text().replace('"items": []', '"items": [{"id": "1", "deep": ' + "[" * 100000 + "]" * 100000 + "}]")
    path.write_text(text)
    with pytest.raises(RejectedFile):
        prepare_file(ws, path, NEW_YORK)


def test_gzipped_envelope_prepares_like_the_plain_one(ws):
    """SPEC: an envelope may be stored as <stamp>.json.gz, and readers accept both."""
    plain = write_raw(ws, tiktok_envelope())
    compressed = plain.with_name(plain.name + ".gz")
    compressed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = prepare_file(ws, plain, NEW_YORK)
    plain.unlink()
    got = prepare_file(ws, compressed, NEW_YORK)
    assert got.post_rows == expected.post_rows
    assert got.snapshots == expected.snapshots  # raw_file names the envelope, stored either way
    assert got.raw_file["path"] == expected.raw_file["path"] == str(plain.relative_to(ws.root))
    assert compressed in ws.raw_files()


# --- text classes of the recorded captions -----------------------------------------------------------

def test_recorded_captions_classify_through_stored_posts(ws, fresh_db):
    """What backfill derives for an unmatched post, from the posts as load stored them."""
    store(ws, fresh_db, tiktok_envelope())
    store(ws, fresh_db, instagram_envelope())
    pillars = PillarMatcher(PILLARS)
    derived = {}
    for row in read_post_rows(fresh_db, "mymomskills"):
        post = to_post(row)
        values = backfill_values(post, None, pillars)
        derived[post.post_id] = tuple(values[k] for k in ("hook_text", "hook_style", "cta", "content_pillar",
                                                           "slide_count"))
        assert values["output_folder"] is None and values["match_score"] is None and values["topic"] is None
    assert derived == {
        SLIDESHOW: ("5 bedtime habits that changed our nights", "number_specific", "save_this", "sleep_routines", 3),
        VIDEO: ("How to handle toddler tantrums without yelling", "how_to", "none", "tantrum_management", None),
        HOSTILE: (None, None, "none", None, None),
        "DZ2pYCqgIeq": ("5 boring habits that saved our mornings", "number_specific", "save_this", "mom_life", 5),
        "DZ3reelAAAA": ("Our bedtime routine in 30 seconds", "number_specific", "none", "sleep_routines", None),
        "DZ4imageBBB": ("One tip for picky eaters", "statement", "none", "picky_eating", 1),  # "one" is no count
        "DZ5sidecarC": ("Slides only listed in carouselImages", "statement", "none", None, 4),
    }


@pytest.mark.parametrize("caption, expected", [
    # the first line is the hook: a CTA there counts only when it is the whole caption
    ("Save this list before bedtime\nWe tried everything before this clicked.", "none"),
    ("Save this list before bedtime", "save_this"),
    # only the last three lines are read for the CTA
    ("Hook\nSave this for tonight\nline three\nline four\nline five", "none"),
    ("Hook\nline two\nSave this for tonight\nline four\nline five", "save_this"),
    # hashtag and mention lines are not lines
    ("Hook\nTag a mom who needs this\n#parenting #momlife\n@mymomskills", "share"),
    # an audience question on the last line asks for comments, a closing emoji or two aside
    ("Hook\nWe tried everything.\nWhat would you add? 🙏✨", "comment"),
    ("What would you add?", "none"),  # ...but a caption that is only a question is a hook, not a CTA
])
def test_cta_reads_the_caption_tail(caption, expected):
    assert cta(caption) == expected


def test_hook_of_a_caption_that_opens_with_hashtags():
    caption = "#parenting #toddlers\n\nThe 2-minute trick that ends morning meltdowns\n\nSave this 📌"
    assert first_line(caption) == "The 2-minute trick that ends morning meltdowns"
    assert hook_style(first_line(caption)) == "number_specific"
    assert PillarMatcher(PILLARS).pillar(None, caption) == "tantrum_management"  # "meltdowns" 1, "morning" 1: first


# --- backfill: reading a generator folder ----------------------------------------------------------

def folder_on_disk(tmp_path, rel, meta=None, carousel=None) -> dict[str, Path]:
    files = {}
    for name, content in (("meta.json", meta), ("carousel_data.json", carousel)):
        if content is not None:
            path = tmp_path / rel / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if isinstance(content, str) else json.dumps(content))
            files[name] = path
    return files


def test_read_folder_takes_each_field_from_where_the_generator_put_it(tmp_path):
    rel = "output/batch/naps"
    files = folder_on_disk(tmp_path, rel,
                           meta={"topic": "  nap reset ", "format": "step_guide", "hook_score": "12.5",
                                 "slide_count": 9, "caption": "meta caption", "generated_at": "2026-11-10T20:00:00"},
                           carousel={"caption": "carousel caption",
                                     "slides": [{"title": "Our nap reset, one week in"}, "Step 1", "Step 2"]})
    folder = read_folder(rel, files, NEW_YORK)
    assert (folder.rel, folder.topic, folder.format, folder.hook_score) == (rel, "nap reset", "step_guide", 12.5)
    assert folder.hook_text == "Our nap reset, one week in"  # no hook_text in meta: the first slide's text
    assert folder.slide_count == 3                            # the slides themselves beat meta's count
    assert folder.caption == "carousel caption"
    # a time without offset is the account's local time: 20:00 in New York (EST) is 01:00Z the next day
    assert folder.generated == datetime(2026, 11, 11, 1, tzinfo=UTC).timestamp()


def test_read_folder_falls_back_field_by_field(tmp_path):
    files = folder_on_disk(tmp_path, "output/2026-07-04_fireworks",
                           meta={"hook_text": "Fireworks night without tears", "hook_score": "nan",
                                 "slide_count": "6", "generated_at": 1.5e20, "caption": "   "},
                           carousel={"slides": []})
    folder = read_folder("output/2026-07-04_fireworks", files, NEW_YORK)
    assert folder.hook_score is None     # not finite
    assert folder.slide_count == 6       # no slides listed: meta's count, a numeric string
    assert folder.caption is None        # blank is missing
    # an unreadable generated_at: the date in the folder's path, local midnight (EDT, UTC-4)
    assert folder.generated == datetime(2026, 7, 4, 4, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("content, problem", [
    ('{"topic": ', "not valid JSON (Expecting value at line 1 column 11)"),
    ("[1, 2]", "expected a JSON object, got list"),
])
def test_read_folder_names_the_unreadable_file(tmp_path, content, problem):
    files = folder_on_disk(tmp_path, "output/x", meta={"hook_text": "fine"}, carousel=content)
    with pytest.raises(FolderError) as raised:
        read_folder("output/x", files, NEW_YORK)
    assert (raised.value.path, raised.value.problem) == (files["carousel_data.json"], problem)


# --- backfill: scoring, windows, assignment ----------------------------------------------------------

T0 = datetime(2026, 11, 10, 8, tzinfo=UTC).timestamp()
HOUR, DAY = 3600.0, 86400.0
HOOK = "Bedtime got easier when we changed one thing"


def caption(hook: str) -> str:
    return f"{hook}\n\nWe tried everything before this clicked.\n\nSave this for tonight\n\n#parenting #sleep"


def make_folder(rel="output/a", hook=HOOK, topic=None, slides=None, text=None, generated=T0) -> Folder:
    return Folder(rel=rel, generated=generated, topic=topic, format="step_guide", hook_text=hook, hook_score=None,
                  slide_count=slides, caption=text)


def make_post(post_id="7001", text=None, published=T0 + DAY, slides=None) -> Post:
    return Post(post_id=post_id, platform="tiktok", caption=caption(HOOK) if text is None else text,
                published=published, media_slide_count=slides, stored={})


@pytest.mark.parametrize("folder, post, score", [
    (make_folder(), make_post(), 100.0),
    (make_folder(topic="bedtime"), make_post(), 100.0),          # a topic found in the caption never raises it
    (make_folder(topic="potty training"), make_post(), 80.0),    # a topic missing lowers it by a fifth of the gap
    (make_folder(slides=5), make_post(slides=6), 95.0),          # the platform disagrees on the slide count
    (make_folder(slides=5), make_post(slides=None), 100.0),      # ...but an unknown count is no evidence
    (make_folder(hook=None, topic="bedtime"), make_post(), 65.0),  # a topic alone is capped below the threshold
    (make_folder(hook=None), make_post(), 0.0),                  # nothing to compare
    (make_folder(), make_post(text="#parenting #sleep"), 0.0),   # a caption of hashtags only has no text
])
def test_text_similarity(folder, post, score):
    assert text_similarity(folder, post) == pytest.approx(score)


def test_the_generator_caption_lifts_a_reworded_hook_over_the_threshold():
    reworded = "One change made bedtime so much easier for us"
    alone = text_similarity(make_folder(hook=reworded), make_post())
    lifted = text_similarity(make_folder(hook=reworded, text=caption(HOOK)), make_post())
    assert alone < Settings().min_score <= lifted
    assert lifted == pytest.approx((alone + 100.0) / 2)  # halfway towards the caption's score (100), no further


@pytest.mark.xfail(strict=True, reason="text_similarity docstring: the generator's caption 'cannot stand in for a "
                                       "different hook, since captions share boilerplate lines'; a folder without a "
                                       "topic whose caption shares only the boilerplate lines with a post of another "
                                       "hook scores 70.2, over MIN_SCORE, so a same-day post matches it")
def test_shared_boilerplate_cannot_stand_in_for_a_different_hook():
    other_hook = make_post(text=caption("Picky eating got easier with one rule"), published=T0 + 2 * HOUR)
    assert candidate_pairs([make_folder(text=caption(HOOK))], [other_hook], Settings()) == []


@pytest.mark.parametrize("needed", [0.0, 50.0, 70.0, 79.0, 80.0, 81.0, 95.0])
def test_text_similarity_stops_early_only_below_what_is_needed(needed):
    pairs = [(make_folder(topic="potty training"), make_post()),
             (make_folder(hook="Why your toddler fights every nap", text=caption("x")), make_post()),
             (make_folder(hook="Bedtime got easier when we changed two things"), make_post(slides=4))]
    for folder, post in pairs:
        exact, bounded = text_similarity(folder, post), text_similarity(folder, post, needed)
        if exact >= needed:
            assert bounded == pytest.approx(exact)
        else:
            assert bounded < needed


def test_candidate_pairs_respect_the_clock_skew_and_the_window():
    posts = [make_post("early", published=T0 - 61 * 60), make_post("skew", published=T0 - 59 * 60),
             make_post("day2", published=T0 + 2 * DAY), make_post("day14", published=T0 + 14 * DAY),
             make_post("day15", published=T0 + 14 * DAY + 1)]
    pairs = candidate_pairs([make_folder()], posts, Settings())
    # (score less half a point per day of delay, delay in days, folder index, post index)
    assert pairs == [(100.0, 0.0, 0, 1), (99.0, 2.0, 0, 2), (93.0, 14.0, 0, 3)]
    assert candidate_pairs([make_folder()], posts, Settings(window_days=1)) == [(100.0, 0.0, 0, 1)]
    assert candidate_pairs([make_folder()], posts, Settings(min_score=99.5)) == [(100.0, 0.0, 0, 1)]


def test_candidate_pairs_drop_what_scores_below_the_threshold():
    posts = [make_post("other", text=caption("Three snacks my picky eater actually eats")), make_post("same")]
    assert candidate_pairs([make_folder()], posts, Settings()) == [(99.5, 1.0, 0, 1)]


FOLDERS = [make_folder("output/a"), make_folder("output/b")]
POSTS = [make_post("7001"), make_post("7002")]


@pytest.mark.parametrize("pairs, expected", [
    # greedy, best first: the near-certain pair stays together, though a-7002 + b-7001 would sum higher
    ([(95.0, 1.0, 0, 0), (90.0, 1.0, 0, 1), (90.0, 1.0, 1, 0)], {0: (0, 95.0)}),
    # one folder per post and one post per folder
    ([(96.0, 1.0, 1, 0), (97.0, 1.0, 0, 1), (98.0, 1.0, 1, 1), (99.0, 1.0, 0, 0)], {0: (0, 99.0), 1: (1, 98.0)}),
    # equal scores: the shorter delay, then the folder path, then the post id
    ([(90.0, 2.0, 0, 0), (90.0, 1.0, 1, 0)], {0: (1, 90.0)}),
    ([(90.0, 1.0, 1, 0), (90.0, 1.0, 0, 0)], {0: (0, 90.0)}),
    ([(90.0, 1.0, 0, 1), (90.0, 1.0, 0, 0)], {0: (0, 90.0)}),
    ([], {}),
])
def test_assign(pairs, expected):
    assert assign(pairs, FOLDERS, POSTS) == expected


def test_match_platform_sorts_by_time_and_leaves_undated_posts_out():
    naps = make_folder("output/naps", hook="Our nap reset, one week in", generated=T0 + 3 * DAY)
    bedtime = make_folder("output/bedtime")
    posts = [make_post("late-repost", published=T0 + 3 * DAY), make_post("first", published=T0 + HOUR),
             make_post("undated", published=None),
             make_post("naps", text=caption("Our nap reset, one week in"), published=T0 + 4 * DAY)]
    matches = match_platform([naps, bedtime], posts, Settings())
    assert {pid: (folder.rel, score) for pid, (folder, score) in matches.items()} == \
        {"first": ("output/bedtime", 100.0), "naps": ("output/naps", 99.5)}
