"""Real actor items (tests/fixtures/real/, with provenance) through real envelopes and `make load`:
each kind lands under the right account with the item's own numbers, every NULL metric carries
its reason, and every item that is not stored is counted in load's output (issue 14).

Items are used verbatim. Where no real JSON item of a kind exists (a TikTok photo slideshow or
pinned post: only a CSV export has them; an id-less post, a partial_data flag, an unfilled view
count, a photo post without isSlideshow), the item is HAND-MADE from a real one and the helper or
comment that makes it says so."""
from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

from scripts.analysis.data import read_account
from scripts.core.workspace import Workspace
from scripts.sources.normalize import METRICS, MISSING_REASONS
from tests.conftest import raw_envelope, write_raw
from tests.test_faults import make

REAL = Path(__file__).parent / "fixtures" / "real"
HANDLES = {  # account -> its configured handles; "@" and case are ignored when compared
    "meenitech": {"tiktok": "meenitech"},
    "kossof": {"tiktok": "kossof.salon.spa", "instagram": "@Kossof_SalonSpa"},
    "pakuwonmall": {"instagram": "pakuwonmall.jogja"},
    "hjlisahalaby": {"tiktok": "hj.lisahalaby"},
    "olectra": {"instagram": "olectraofficial"},
}


def real(name: str) -> list[dict]:
    """A real fixture file's items, a fresh copy on every call (its provenance stays in the file)."""
    return json.loads((REAL / name).read_text(encoding="utf-8"))["items"]


def _cell(value: str):
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"\d+\.\d+", value):
        return float(value)
    return int(value) if value.isdigit() and len(value) < 16 else value  # 19-digit ids stay strings


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    return [node[k] for k in sorted(node, key=int)] if node and all(k.isdigit() for k in node) else node


def csv_items(name: str) -> list[dict]:
    """HAND-MADE JSON items from a real Apify CSV export (no real JSON TikTok slideshow or pinned post
    exists): 'authorMeta/name' nested again, 'slideshowImageLinks/3/tiktokLink' a list again, empty
    cells dropped, 'true'/'false' and counters back to JSON values."""
    items = []
    with open(REAL / name, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            item: dict = {}
            for key, cell in row.items():
                if cell == "":
                    continue
                *parents, last = key.split("/")
                node = item
                for part in parents:
                    node = node.setdefault(part, {})
                node[last] = _cell(cell)
            items.append(_lists(item))
    return items


def config_text(handles: dict) -> str:
    profiles = "{" + ", ".join(f"{p}: '{h}'" for p, h in handles.items()) + "}"
    return f"platform_profiles: {profiles}\ntimezone: UTC\n" if handles else "timezone: UTC\n"


def new_workspace(root: Path, handles: dict[str, dict]) -> Workspace:
    ws = Workspace(root)
    for account, own in handles.items():
        ws.config_path(account).parent.mkdir(parents=True, exist_ok=True)
        ws.config_path(account).write_text(config_text(own))
    return ws


def envelope(platform: str, account: str, scraped_at: str, items: list[dict]) -> dict:
    """As scrape writes it: every run's items concatenated, no profile block (load reads the record)."""
    return raw_envelope(platform, items, account=account, scraped_at=scraped_at, profile=None)


def without(item: dict, *keys: str, **changes) -> dict:
    return {**{k: v for k, v in item.items() if k not in keys}, **changes}


# --- the world: one envelope per account and platform, as the scrape of issue 14 writes them -------

CSV_TIKTOK = "tiktok/csv-export--hj-lisahalaby-free-tiktok-scraper-2024-09.csv"
CSV_REELS = "instagram/csv-export--olectra-reel-scraper-2026.csv"
FILES = {  # name -> (platform, account, scraped_at)
    "meenitech": ("tiktok", "meenitech", "2025-07-08T08:00:00Z"),
    "multi-profile": ("tiktok", "meenitech", "2026-08-12T09:00:00Z"),
    "kossof-tiktok": ("tiktok", "kossof", "2026-08-12T03:00:00Z"),
    "kossof-instagram": ("instagram", "kossof", "2026-08-12T06:00:00Z"),
    "pakuwonmall": ("instagram", "pakuwonmall", "2026-08-21T08:00:00Z"),
    "hjlisahalaby": ("tiktok", "hjlisahalaby", "2024-09-04T15:00:00Z"),
    "olectra": ("instagram", "olectra", "2026-07-18T00:00:00Z"),
}


def hand_made_photo_posts(rows: list[dict]) -> list[dict]:
    """HAND-MADE from the real 1-slide slideshow row: one without isSlideshow (older layouts), one with
    TikTok's imagePost instead of slideshowImageLinks. Ids marked so they cannot pass for real ones."""
    slideshow = next(r for r in rows if r.get("id") == "7409993014233386246")
    no_flag = without(slideshow, "isSlideshow", id="7409993014233386246-no-isSlideshow")
    image_post = without(slideshow, "isSlideshow", "slideshowImageLinks", id="7409993014233386246-imagePost",
                         imagePost={"images": [{"imageURL": {"urlList": [f"https://p16.example/{i}.jpeg"]}}
                                               for i in range(3)]})
    return [no_flag, image_post]


def hand_made_unfilled_reel(rows: list[dict]) -> dict:
    """HAND-MADE from a real reel-scraper row: videoViewCount 0 although it was played and liked
    (the unfilled field of issue 14; no real item with it was found)."""
    reel = next(r for r in rows if r["shortCode"] == "DXa6yCJgnXe")
    return {**reel, "shortCode": "DXa6yCJgnXe-unfilled", "id": f"{reel['id']}-unfilled", "videoViewCount": 0}


def world_items() -> dict[str, list[dict]]:
    meenitech, scrapeforge = real("tiktok/video--meenitech-free-tiktok-scraper-2025-07.json"), \
        real("tiktok/video--kossof-scrapeforge-tiktok-posts-2026-08.json")
    csv_rows = csv_items(CSV_TIKTOK)
    kossof_image = real("instagram/image--kossof-post-scraper-2026-08.json")
    reels = csv_items(CSV_REELS)
    return {
        # HAND-MADE additions to real items: an id-less copy, a partial_data flag
        "meenitech": [meenitech[0], {**meenitech[1], "error": "partial_data"}, without(meenitech[0], "id")],
        # a dataset of three profiles dropped into one account's folder; one item names its owner only
        # in webVideoUrl (authorMeta removed, HAND-MADE), as layouts without authorMeta do
        "multi-profile": [meenitech[0], without(meenitech[1], "authorMeta"), *scrapeforge,
                          without(scrapeforge[0], "authorMeta", id="7666525827932228894-no-authorMeta"),
                          csv_rows[1]],
        "kossof-tiktok": [*scrapeforge, *real("tiktok/profile--kossof-khadinakbar-tiktok-profile-scraper-2026-08.json")],
        # the post scraper's items, then the reel scraper's, then the profile scraper's record
        "kossof-instagram": [*kossof_image, *real("instagram/sidecar--kossof-post-scraper-2026-08.json"),
                             *real("instagram/video--kossof-post-scraper-2026-08.json"),
                             *real("instagram/reel--kossof-reel-scraper-2026-08.json"),
                             *real("instagram/profile--kossof-profile-scraper-2026-08.json")],
        "pakuwonmall": [*real("instagram/image--pakuwonmall-post-scraper-basic-2026-08.json"),
                        *real("instagram/sidecar--pakuwonmall-post-scraper-basic-2026-08.json"),
                        *real("instagram/video--pakuwonmall-post-scraper-basic-2026-08.json"),
                        *real("instagram/pinned--pakuwonmall-post-scraper-basic-2026-08.json"),
                        *real("instagram/collab--pakuwonmall-post-scraper-basic-2026-08.json"),
                        real("instagram/error--post-scraper-not-found-2026-08.json")[0],
                        *kossof_image,  # another account's post in this account's dataset
                        *real("instagram/reel--pakuwonmall-instagram-scraper-2026-08.json"),
                        *real("instagram/sidecar--pakuwonmall-instagram-scraper-2026-08.json"),
                        *real("instagram/sidecar--pakuwonmall-api-scraper-2026-08.json"),
                        *real("instagram/profile--pakuwonmall-api-scraper-details-2026-08.json")],
        "hjlisahalaby": [*csv_rows, *hand_made_photo_posts(csv_rows)],
        "olectra": [*reels, hand_made_unfilled_reel(reels)],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = new_workspace(tmp_path_factory.mktemp("real") / "ws", HANDLES)
    items = world_items()
    paths = {name: write_raw(ws, envelope(*FILES[name], items[name])) for name in FILES}
    result = make("load", ws)
    assert result.returncode == 0, result.stdout + result.stderr
    return ws, result.stdout, paths, items


def query(ws: Workspace, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(ws.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def post(ws: Workspace, post_id: str) -> dict:
    """The post with its latest snapshot's metrics and the reasons of its NULL ones."""
    [row] = query(ws, "SELECT p.*, ms.views, ms.plays, ms.likes, ms.comments, ms.shares, ms.saves, ms.reposts,"
                      " ms.missing, ms.engagement_rate FROM posts p JOIN metrics_snapshots ms USING (post_id)"
                      " WHERE post_id = ? ORDER BY ms.scraped_at DESC LIMIT 1", [post_id])
    row["missing"] = json.loads(row["missing"] or "{}")
    return row


def line_of(stdout: str, path: Path) -> str:
    [line] = [line for line in stdout.splitlines() if line.startswith(str(path.relative_to(path.parents[4])) + ":")]
    return line


def not_stored(ws: Workspace, path: Path) -> dict:
    [row] = query(ws, "SELECT not_stored FROM raw_files WHERE path = ?", [str(path.relative_to(ws.root))])
    return json.loads(row["not_stored"] or "{}")


# --- TikTok --------------------------------------------------------------------------------------------

def test_tiktok_video_clockworks(world):
    ws, _, _, items = world
    item = items["meenitech"][0]
    got = post(ws, item["id"])
    assert (got["account_name"], got["media_type"], got["is_pinned"], got["is_collab"]) == ("meenitech", "video", 0, 0)
    assert {m: got[m] for m in ("views", "likes", "comments", "shares", "saves")} == {
        "views": item["playCount"], "likes": item["diggCount"], "comments": item["commentCount"],
        "shares": item["shareCount"], "saves": item["collectCount"]}
    # TikTok shows no separate plays; clockworks 2025 sends no repostCount
    assert got["missing"] == {"plays": "not_published", "reposts": "not_delivered"}
    assert got["duration_s"] == item["videoMeta"]["duration"] == 20  # clockworks: seconds
    assert (got["music_id"], got["music_name"], got["music_original"]) == \
        (item["musicMeta"]["musicId"], item["musicMeta"]["musicName"], 1)
    assert json.loads(got["hashtags"]) == [h["name"] for h in item["hashtags"]]
    assert (got["is_ad"], got["is_sponsored"], got["published_at"]) == (0, 0, "2025-07-07T14:58:13Z")


def test_tiktok_clockworks_like_actor_milliseconds_and_offset_times(world):
    ws, _, _, items = world
    first, second = items["kossof-tiktok"][:2]
    got = post(ws, first["id"])
    assert got["account_name"] == "kossof"
    assert got["published_at"] == "2026-07-25T17:56:10Z"          # createTimeISO ends in +00:00
    assert got["duration_s"] == 10.603                             # 10603 ms: the same clip is 10.603 s on Instagram
    assert post(ws, second["id"])["duration_s"] == 35.307
    assert (got["media_type"], got["is_pinned"], got["is_sponsored"]) == ("video", 0, None)  # no isSponsored: unknown
    assert (got["views"], got["likes"], got["saves"]) == (first["playCount"], first["diggCount"], first["collectCount"])


def test_tiktok_slideshows_and_pinned_posts_from_the_csv_export(world):
    """HAND-MADE items converted from the real 2024 CSV export (csv_items)."""
    ws, _, _, items = world
    rows = {r.get("id"): r for r in items["hjlisahalaby"]}
    pinned_slideshow, pinned_video = post(ws, "7393647281003810054"), post(ws, "7397388276279102726")
    assert (pinned_slideshow["media_type"], pinned_slideshow["media_slide_count"], pinned_slideshow["is_pinned"]) == \
        ("slideshow", 11, 1)
    assert pinned_slideshow["views"] == rows["7393647281003810054"]["playCount"] == 87600
    assert pinned_slideshow["duration_s"] is None                  # a photo post has no length (duration 0)
    assert (pinned_video["media_type"], pinned_video["is_pinned"], pinned_video["duration_s"]) == ("video", 1, 95)
    assert (post(ws, "7409993014233386246")["media_slide_count"], post(ws, "7410336296587070725")["is_pinned"]) == (1, 0)
    # photo posts told without isSlideshow: images with a zero duration, or an imagePost
    assert post(ws, "7409993014233386246-no-isSlideshow")["media_type"] == "slideshow"
    image_post = post(ws, "7409993014233386246-imagePost")
    assert (image_post["media_type"], image_post["media_slide_count"]) == ("slideshow", 3)
    # the 2024 layout has no isAd/isSponsored columns: unknown, not false
    assert (pinned_video["is_ad"], pinned_video["is_sponsored"], pinned_video["music_original"]) == (None, None, 0)


def test_a_tiktok_error_row_is_counted(world):
    ws, stdout, paths, _ = world
    assert not_stored(ws, paths["hjlisahalaby"]) == {"error items": 1}
    assert "1 error item (This profile/hashtag does not exist. x1)" in line_of(stdout, paths["hjlisahalaby"])


def test_a_tiktok_profile_record_gives_followers_and_is_no_post(world):
    ws, stdout, paths, _ = world
    assert query(ws, "SELECT followers, following, likes_total, posts_total FROM profile_snapshots "
                     "WHERE account_name = 'kossof' AND platform = 'tiktok'") == \
        [{"followers": 17, "following": 6, "likes_total": 59, "posts_total": 23}]
    assert not_stored(ws, paths["kossof-tiktok"]) == {"profile records": 1}
    assert "1 profile record (e.g. kossof.salon.spa)" in line_of(stdout, paths["kossof-tiktok"])
    assert query(ws, "SELECT count(*) AS n FROM posts WHERE account_name = 'kossof' AND platform = 'tiktok'") == \
        [{"n": 2}]


def test_a_multi_profile_export_in_one_folder_stores_only_that_accounts_posts(world):
    ws, stdout, paths, items = world
    rel = str(paths["multi-profile"].relative_to(ws.root))
    stored = query(ws, "SELECT p.post_id, p.account_name FROM metrics_snapshots ms JOIN posts p USING (post_id) "
                       "WHERE ms.raw_file = ? ORDER BY p.post_id", [rel])
    assert stored == [{"post_id": i["id"], "account_name": "meenitech"} for i in sorted(items["meenitech"][:2],
                                                                                        key=lambda i: i["id"])]
    # the item without authorMeta is meenitech's by its webVideoUrl, so it is kept; the copy that
    # names kossof there is not
    assert not_stored(ws, paths["multi-profile"]) == {"owned by another account": 4}
    assert "4 owned by another account (e.g. 7666525827932228894 by kossof.salon.spa)" in \
        line_of(stdout, paths["multi-profile"])
    assert query(ws, "SELECT account_name FROM posts WHERE post_id = '7666525827932228894'") == \
        [{"account_name": "kossof"}]
    assert query(ws, "SELECT count(*) AS n FROM posts WHERE post_id = '7666525827932228894-no-authorMeta'") == [{"n": 0}]


def test_an_item_without_an_id_is_counted_and_a_partial_data_item_stored(world):
    ws, stdout, paths, items = world
    assert not_stored(ws, paths["meenitech"]) == {"items without an id": 1}
    line = line_of(stdout, paths["meenitech"])
    assert "1 item without an id (e.g. keys text, textLanguage, createTime" in line
    assert "1 flagged partial_data (stored" in line
    assert post(ws, items["meenitech"][1]["id"])["views"] == items["meenitech"][1]["playCount"]


# --- Instagram ---------------------------------------------------------------------------------------

def test_instagram_image(world):
    ws, _, _, items = world
    item = items["pakuwonmall"][0]
    got = post(ws, item["shortCode"])
    assert (got["account_name"], got["media_type"], got["media_slide_count"], got["is_collab"]) == \
        ("pakuwonmall", "image", 1, 0)
    assert (got["likes"], got["comments"]) == (item["likesCount"], item["commentsCount"])
    assert got["missing"] == {"views": "not_published", "plays": "not_published", "shares": "not_delivered",
                              "saves": "not_published", "reposts": "not_published"}
    assert got["engagement_rate"] is None  # no views on an image: no rate over views


def test_instagram_sidecars_take_their_slides_from_whichever_item_lists_them(world):
    ws, _, _, _ = world
    # the slim post scraper lists no slides; the api scraper's copy of the same post has two
    assert post(ws, "Db9-oj1EaiF")["media_slide_count"] == 2
    assert post(ws, "DcAEkBNE4pA")["media_slide_count"] is None    # only the slim item: unknown, not 0
    # kossof's carousel: the post scraper's item has none, the profile record's latestPosts four
    assert post(ws, "Dbq-nuVmtDB")["media_slide_count"] == 4
    assert post(ws, "DcQStr3EZAs")["media_slide_count"] == 3      # instagram-scraper: childPosts
    pinned = post(ws, "Dbm3x30EwWu")
    assert (pinned["is_pinned"], pinned["media_slide_count"]) == (1, 11)  # latestPosts lists its 11 children


def test_instagram_reel_views_from_the_reel_scraper(world):
    ws, _, _, items = world
    reel = next(i for i in items["kossof-instagram"] if "sharesCount" in i)
    got = post(ws, "DbqX1NMAdZh")  # in the post scraper's items (no views), the reel scraper's and latestPosts
    assert (got["account_name"], got["media_type"], got["product_type"]) == ("kossof", "video", "clips")
    assert (got["views"], got["plays"], got["shares"], got["likes"]) == \
        (reel["videoViewCount"], reel["videoPlayCount"], reel["sharesCount"], reel["likesCount"]) == (61, 189, 0, 3)
    assert got["missing"] == {"saves": "not_published", "reposts": "not_published"}
    assert (got["duration_s"], got["music_id"], got["music_original"]) == (12.757, "38469717522619003", 1)
    # the slim post scraper's reel seen nowhere else: views not delivered by that source
    slim = post(ws, "Db-6nIkzsJd")
    assert (slim["views"], slim["missing"]["views"], slim["missing"]["plays"]) == \
        (None, "not_delivered", "not_delivered")
    other = post(ws, "DcQW117Rd8P")  # apify/instagram-scraper
    assert (other["views"], other["plays"], other["duration_s"]) == (1289, 3972, 50.033333)
    # a reel only the profile record lists: its views, but plays not delivered by that actor
    latest = post(ws, "Dbd79bcNqn1")
    assert (latest["views"], latest["missing"]["plays"]) == (68, "not_delivered")


def test_instagram_reel_views_missing_or_unfilled(world):
    """The reel scraper's CSV export (HAND-MADE JSON by csv_items): one row has no videoViewCount,
    and no row has sharesCount (the add-on was off)."""
    ws, _, _, items = world
    rows = {r["shortCode"]: r for r in items["olectra"]}
    full = post(ws, "DZMDB9py4x1")
    assert (full["views"], full["plays"], full["likes"], full["duration_s"]) == \
        (rows["DZMDB9py4x1"]["videoViewCount"], rows["DZMDB9py4x1"]["videoPlayCount"], 488, 41.933)
    assert full["missing"] == {"shares": "not_delivered", "saves": "not_published", "reposts": "not_published"}
    empty = post(ws, "Dauhm5MCceM")
    assert (empty["views"], empty["missing"]["views"], empty["plays"]) == (None, "not_delivered", 1168)
    unfilled = post(ws, "DXa6yCJgnXe-unfilled")  # 0 views, yet 2723 plays and 94 likes: not zero views
    assert (unfilled["views"], unfilled["missing"]["views"], unfilled["plays"]) == (None, "unfilled", 2723)
    assert unfilled["engagement_rate"] is None  # never a rate over views taken as 0 or unknown


def test_instagram_collabs_are_kept_and_flagged(world):
    ws, _, _, _ = world
    collabs = query(ws, "SELECT post_id, owner_username FROM posts WHERE account_name = 'pakuwonmall' "
                        "AND is_collab = 1 ORDER BY post_id")
    assert collabs == [
        {"post_id": "Db-14iYyaej", "owner_username": "crunchmate.id"},
        {"post_id": "Db-6nIkzsJd", "owner_username": "pakuwonmall.jogja"},  # its own, with a co-author
        {"post_id": "DcAOmP6yK2w", "owner_username": "crunchmate.id"},
        {"post_id": "DcBP4lSz5oU", "owner_username": "kopisikaya"},
        {"post_id": "DcDDdW7PoTc", "owner_username": "cita.rasa.cerita"},  # from the profile record's latestPosts
    ]
    hidden = post(ws, "DcDDdW7PoTc")  # likesCount -1: the owner hid them
    assert (hidden["likes"], hidden["missing"]["likes"], hidden["views"]) == (None, "hidden", 1191)


def test_collabs_are_left_out_of_the_lever_comparisons(world):
    ws, _, _, _ = world
    conn = sqlite3.connect(ws.db_path)
    try:
        day7 = {r[0]: r[1] for r in conn.execute("SELECT post_id, is_collab FROM v_post_day7 "
                                                 "WHERE account_name = 'pakuwonmall'")}
        compared = set(read_account(conn, "pakuwonmall").platforms["instagram"].post_id)
    finally:
        conn.close()
    assert {pid for pid, collab in day7.items() if collab} == {"Db-14iYyaej", "Db-6nIkzsJd", "DcAOmP6yK2w"}
    assert compared == {pid for pid, collab in day7.items() if not collab} == \
        {"Db9-oj1EaiF", "DcAEkBNE4pA", "DcAWSVATY95"}


def test_instagram_error_items_profile_records_and_foreign_posts_are_counted(world):
    ws, stdout, paths, _ = world
    assert not_stored(ws, paths["pakuwonmall"]) == {"error items": 1, "owned by another account": 1,
                                                    "profile records": 1}
    line = line_of(stdout, paths["pakuwonmall"])
    assert "1 error item (not_found x1)" in line
    assert "1 owned by another account (e.g. Dbvj_YpAvxR by kossof_salonspa)" in line
    assert "1 profile record (e.g. pakuwonmall.jogja)" in line
    # the same posts listed by several actors: merged into one each
    assert "; 3 duplicate listings merged" in line  # a reel twice, a sidecar by two actors, a pinned one in latestPosts
    assert query(ws, "SELECT account_name FROM posts WHERE post_id = 'Dbvj_YpAvxR'") == [{"account_name": "kossof"}]


def test_an_instagram_profile_record_is_no_post_but_gives_followers(world):
    ws, stdout, paths, _ = world
    assert query(ws, "SELECT count(*) AS n FROM posts WHERE post_id IN ('77913123708', '2237970730', "
                     "'kossof_salonspa', 'pakuwonmall.jogja')") == [{"n": 0}]
    assert query(ws, "SELECT account_name, followers, following, posts_total FROM profile_snapshots "
                     "WHERE platform = 'instagram' ORDER BY account_name") == [
        {"account_name": "kossof", "followers": 303, "following": 99, "posts_total": 99},
        {"account_name": "pakuwonmall", "followers": 163836, "following": 148, "posts_total": 19690}]
    # kossof's file: 4 post-scraper items + 1 reel + 1 record, whose 12 latestPosts hold every one of them
    assert query(ws, "SELECT count(*) AS n FROM posts WHERE account_name = 'kossof' AND platform = 'instagram'") == \
        [{"n": 12}]
    assert "1 profile record (e.g. kossof_salonspa)" in line_of(stdout, paths["kossof-instagram"])


# --- across every kind ---------------------------------------------------------------------------------

def test_every_null_metric_has_a_reason_and_every_known_one_none(world):
    ws, _, _, _ = world
    rows = query(ws, f"SELECT post_id, scraped_at, missing, {', '.join(METRICS)} FROM metrics_snapshots")
    listed = {(r["post_id"], r["scraped_at"], r["metric"]): r["reason"] for r in query(ws, "SELECT * FROM v_missing_metrics")}
    for row in rows:
        for metric in METRICS:
            reason = listed.get((row["post_id"], row["scraped_at"], metric))
            assert (reason is None) == (row[metric] is not None), (row["post_id"], metric, reason)
            assert reason is None or reason in MISSING_REASONS
    assert {r["reason"] for r in query(ws, "SELECT DISTINCT reason FROM v_missing_metrics")} == \
        {"not_published", "not_delivered", "hidden", "unfilled"}


def test_every_item_of_every_file_is_stored_or_counted(world):
    """items = post listings + non-posts counted; post listings (with a profile record's latestPosts)
    = posts stored + duplicates merged + foreign owners counted."""
    ws, stdout, paths, items = world
    for name, path in paths.items():
        rel = str(path.relative_to(ws.root))
        line = next((line for line in stdout.splitlines() if line.startswith(rel + ":")), "")  # none: all stored
        counted = not_stored(ws, path)
        listings = sum(len(i.get("latestPosts", [])) for i in items[name]) + len(items[name]) - \
            sum(n for reason, n in counted.items() if reason != "owned by another account")
        stored = query(ws, "SELECT count(*) AS n FROM metrics_snapshots WHERE raw_file = ?", [rel])[0]["n"]
        found = re.search(r"; (\d+) duplicate listings? merged", line)
        merged = int(found.group(1)) if found else 0
        assert listings == stored + merged + counted.get("owned by another account", 0), (name, line)


# --- files with nothing usable, and accounts without a handle ------------------------------------------

def test_a_file_with_nothing_usable_is_rejected_with_its_reason(tmp_path):
    ws = new_workspace(tmp_path / "ws", HANDLES)
    errors = write_raw(ws, envelope("instagram", "pakuwonmall", "2026-08-22T08:00:00Z",
                                    real("instagram/error--api-scraper-not-found-2026-08.json")
                                    + real("instagram/error--no-items-hand-made.json")))
    foreign = write_raw(ws, envelope("instagram", "kossof", "2026-08-22T08:00:00Z",
                                     real("instagram/collab--pakuwonmall-post-scraper-basic-2026-08.json")))
    result = make("load", ws)
    assert result.returncode == 2, result.stdout + result.stderr
    errors_line, foreign_line = (next(line for line in result.stderr.splitlines() if p.name in line and
                                      p.parent.name in line) for p in (errors, foreign))
    assert "nothing usable: only error items (not_found x2, no_items x1)" in errors_line
    assert "nothing usable (no post, no profile): 3 owned by another account (e.g. DcAOmP6yK2w by crunchmate.id)" \
        in foreign_line
    assert (ws.rejected_dir / "instagram/pakuwonmall" / errors.name).exists() and not errors.exists()


def test_an_account_without_a_handle_keeps_every_item_and_says_so(tmp_path):
    ws = new_workspace(tmp_path / "ws", {"nohandle": {}})
    path = write_raw(ws, envelope("tiktok", "nohandle", "2026-08-12T09:00:00Z",
                                  real("tiktok/video--meenitech-free-tiktok-scraper-2025-07.json")
                                  + real("tiktok/video--kossof-scrapeforge-tiktok-posts-2026-08.json")))
    result = make("load", ws)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no tiktok handle configured for nohandle, so owners were not checked" in line_of(result.stdout, path)
    assert query(ws, "SELECT count(*) AS n FROM posts WHERE account_name = 'nohandle'") == [{"n": 4}]
