"""`make import`, for real (make -> scripts.import_export, a subprocess), on real Apify exports:
the items of tests/fixtures/real/ (provenance in its README), as the JSON array the Console
exports, and its two real CSV exports byte for byte."""
from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.core.files import read_json
from scripts.core.workspace import PROJECT_DIR, Workspace

REAL = PROJECT_DIR / "tests" / "fixtures" / "real"
NOW = "2026-12-01T09:00:00Z"   # the clock the step sees (ANALYTICS_NOW)
SCRAPED = "2026-08-12T05:20:00Z"
ACCOUNTS = {"kossof": {"instagram": "kossof_salonspa"}, "pakuwon": {"instagram": "pakuwonmall.jogja"},
            "lisa": {"tiktok": "hj.lisahalaby"}, "olectra": {"instagram": "olectraofficial"}}
KOSSOF = ["image--kossof-post-scraper-2026-08.json", "sidecar--kossof-post-scraper-2026-08.json",
          "video--kossof-post-scraper-2026-08.json", "reel--kossof-reel-scraper-2026-08.json",
          "profile--kossof-profile-scraper-2026-08.json"]              # posts, the reel again, the record
PAKUWON = ["collab--pakuwonmall-post-scraper-basic-2026-08.json",      # owned by partners, pakuwon co-produced
           "image--pakuwonmall-post-scraper-basic-2026-08.json"]
NOT_FOUND = ["error--post-scraper-not-found-2026-08.json"]             # a bad handle, a bad post URL
TIKTOK_CSV = REAL / "tiktok" / "csv-export--hj-lisahalaby-free-tiktok-scraper-2024-09.csv"
REELS_CSV = REAL / "instagram" / "csv-export--olectra-reel-scraper-2026.csv"


def real(names: list[str]) -> list[dict]:
    return [item for name in names
            for item in json.loads((REAL / "instagram" / name).read_text(encoding="utf-8"))["items"]]


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return workspace(tmp_path / "ws", ACCOUNTS)


def workspace(root: Path, accounts: dict) -> Workspace:
    ws = Workspace(root)
    for name, profiles in accounts.items():
        ws.config_path(name).parent.mkdir(parents=True, exist_ok=True)
        ws.config_path(name).write_text(yaml.safe_dump({"platform_profiles": profiles, "timezone": "UTC"}))
    return ws


def export(tmp_path: Path, items: list, name: str = "dataset_instagram.json") -> Path:
    """A dataset exported as JSON from the Apify Console: one array of items."""
    path = tmp_path / name
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def make_import(ws: Workspace, file: Path, **variables: str) -> subprocess.CompletedProcess:
    args = [f"ROOT={ws.root}", f"FILE={file}", *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(["make", "import", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "ANALYTICS_NOW": NOW})


def envelopes(ws: Workspace) -> dict[tuple[str, str], list[Path]]:
    found: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(ws.raw_dir.glob("*/*/*.json.gz")):  # import writes its envelopes gzipped
        found.setdefault((path.parent.parent.name, path.parent.name), []).append(path)
    return found


def only_envelope(ws: Workspace, platform: str, account: str) -> dict:
    [path] = envelopes(ws)[(platform, account)]
    return read_json(path)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("import: error:")]


def test_a_json_export_becomes_one_envelope_per_owner_with_the_items_verbatim(ws, tmp_path):
    file = export(tmp_path, real(KOSSOF + PAKUWON + NOT_FOUND))
    result = make_import(ws, file, SCRAPED_AT=SCRAPED)
    assert result.returncode == 0, result.stderr
    assert sorted(envelopes(ws)) == [("instagram", "kossof"), ("instagram", "pakuwon")]
    kossof = only_envelope(ws, "instagram", "kossof")
    assert envelopes(ws)[("instagram", "kossof")][0].name == "20260812T052000Z.json.gz"
    assert kossof["items"] == real(KOSSOF)          # verbatim, export order, the reel and the record kept
    assert (kossof["account"], kossof["platform"], kossof["scraped_at"]) == ("kossof", "instagram", SCRAPED)
    assert kossof["profile"] == {"followers": 303, "following": 99, "likes_total": None, "posts_total": 99}
    assert kossof["source"]["format"] == "json" and kossof["source"]["imported_from"] == file.name
    assert kossof["source"]["scraped_at_from"] == "--scraped-at" and kossof["source"]["usage_total_usd"] is None
    pakuwon = only_envelope(ws, "instagram", "pakuwon")
    assert pakuwon["items"] == real(PAKUWON)        # the collabs owned by crunchmate.id and kopisikaya too
    assert {i["ownerUsername"] for i in pakuwon["items"]} == {"crunchmate.id", "kopisikaya", "pakuwonmall.jogja"}
    assert "Imported 6 items for kossof (instagram): 4 posts, 0 error item(s)" in result.stdout
    assert "the items' own" not in result.stdout and "SCRAPED_AT" in result.stdout   # says where the time came from
    [counted] = [line for line in result.stderr.splitlines() if line.startswith("import: warning:")]
    assert "2 error item(s) naming no profile we scrape" in counted and "not written" in counted
    assert "run `make load`" in result.stdout


def test_items_of_no_configured_account_are_counted_never_written(tmp_path):
    ws = workspace(tmp_path / "ws", {"kossof": ACCOUNTS["kossof"]})   # pakuwon is nobody's here
    result = make_import(ws, export(tmp_path, real(PAKUWON + KOSSOF + NOT_FOUND)), SCRAPED_AT=SCRAPED)
    assert result.returncode == 0, result.stderr
    assert sorted(envelopes(ws)) == [("instagram", "kossof")]
    assert only_envelope(ws, "instagram", "kossof")["items"] == real(KOSSOF)
    assert ("import: warning: 4 item(s) owned by no account we scrape ('crunchmate.id', 'kopisikaya', "
            "'pakuwonmall.jogja'); not written") in result.stderr
    assert "import: warning: 2 error item(s) naming no profile we scrape" in result.stderr
    nothing = make_import(ws, export(tmp_path, real(PAKUWON), "pakuwon.json"), SCRAPED_AT=SCRAPED)
    assert nothing.returncode != 0
    [line] = error_lines(nothing)
    assert line.endswith("pakuwon.json: no item belongs to kossof (instagram); nothing imported")


def flattened(value, prefix: str = "") -> dict[str, str]:
    """An item as the Console's CSV writes it: 'a/0/b' keys, every value as text."""
    if isinstance(value, dict):
        return {k: v for key, child in value.items() for k, v in flattened(child, f"{prefix}{key}/").items()}
    if isinstance(value, list):
        return {k: v for i, child in enumerate(value) for k, v in flattened(child, f"{prefix}{i}/").items()}
    return {prefix[:-1]: json.dumps(value) if isinstance(value, bool) else str(value)}


def test_csv_exports_are_unflattened_back_into_the_actors_items(ws):
    result = make_import(ws, TIKTOK_CSV)
    assert result.returncode == 0, result.stderr
    assert "the export carries no scrape time; pass SCRAPED_AT=" in result.stdout
    lisa = only_envelope(ws, "tiktok", "lisa")
    assert envelopes(ws)[("tiktok", "lisa")][0].name == "20261201T090000Z.json.gz" and lisa["scraped_at"] == NOW
    assert lisa["source"]["format"] == "csv" and lisa["source"]["scraped_at_from"] == "now"
    with TIKTOK_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
    assert [flattened(item) for item in lisa["items"]] == rows[1:]   # every cell back where it was
    pinned, slideshow = lisa["items"][:2]
    assert pinned["authorMeta"]["name"] == "hj.lisahalaby" and pinned["isPinned"] is True
    assert pinned["id"] == "7397388276279102726" and pinned["videoMeta"]["duration"] == 95   # id text, number a number
    assert pinned["hashtags"][0] == {"name": "hjernalisahalaby"}
    assert slideshow["isSlideshow"] is True and len(slideshow["slideshowImageLinks"]) == 11
    assert lisa["profile"]["followers"] == pinned["authorMeta"]["fans"]
    assert "1 error item(s) naming no profile we scrape (This profile/hashtag does not exist." in result.stderr

    reels = make_import(ws, REELS_CSV, SCRAPED_AT="2026-07-18T10:00:00Z")
    assert reels.returncode == 0, reels.stderr
    olectra = only_envelope(ws, "instagram", "olectra")
    assert [i["videoPlayCount"] for i in olectra["items"]] == [2723, 222407, 1168]
    assert [i.get("videoViewCount") for i in olectra["items"]] == [727, 68774, None]   # the empty cell: absent
    assert "videoViewCount" not in olectra["items"][2]
    music = [i["musicInfo"] for i in olectra["items"] if "musicInfo" in i]
    assert music and all(isinstance(m["uses_original_audio"], bool) and isinstance(m["audio_id"], str) for m in music)
    comment = olectra["items"][1]["latestComments"][0]   # "latestComments/0/owner/username": a list of objects
    assert comment["owner"]["username"] == "truckwalaloan" and comment["likesCount"] == 0
    assert comment["id"] == "17958875562139393" and olectra["items"][0]["hashtags"][0] == "WorldEarthDay"
    with REELS_CSV.open(encoding="utf-8", newline="") as handle:
        assert [flattened(i) for i in olectra["items"]] == [{k: v for k, v in row.items() if v != ""}
                                                          for row in csv.DictReader(handle)]


def test_a_rerun_is_refused_and_nothing_is_overwritten(ws, tmp_path):
    file = export(tmp_path, real(KOSSOF + PAKUWON))
    assert make_import(ws, file, SCRAPED_AT=SCRAPED).returncode == 0
    before = {p: p.read_bytes() for paths in envelopes(ws).values() for p in paths}
    again = make_import(ws, file, SCRAPED_AT=SCRAPED)
    assert again.returncode != 0
    lines = error_lines(again)
    assert len(lines) == 2 and all(f"already has an envelope scraped at {SCRAPED}" in line and
                                   line.endswith("not imported, nothing overwritten") for line in lines)
    later = make_import(ws, file)                      # no SCRAPED_AT: now, but the same items
    assert later.returncode != 0 and all("already holds these" in line for line in error_lines(later))
    other = make_import(ws, export(tmp_path, real(KOSSOF[:2]), "other.json"), SCRAPED_AT=SCRAPED, ACCOUNT="kossof")
    [line] = error_lines(other)                        # other items, but a scrape time kossof has
    assert "kossof (instagram) already has an envelope scraped at" in line
    assert {p: p.read_bytes() for paths in envelopes(ws).values() for p in paths} == before


def test_account_restricts_the_import_to_one_account(ws, tmp_path):
    result = make_import(ws, export(tmp_path, real(KOSSOF + PAKUWON)), SCRAPED_AT=SCRAPED, ACCOUNT="pakuwon")
    assert result.returncode == 0, result.stderr
    assert sorted(envelopes(ws)) == [("instagram", "pakuwon")]
    assert "import: 6 item(s) of other accounts skipped (kossof 6): ACCOUNT=pakuwon" in result.stdout
    unknown = make_import(ws, export(tmp_path, real(KOSSOF), "k.json"), ACCOUNT="lisa")
    [line] = error_lines(unknown)
    assert line.endswith("accounts/lisa/config.yml: no platform_profiles.instagram; nothing imported")


def test_the_items_own_scrape_time_wins(ws, tmp_path):
    # the default actors send no scrape time; an item that does (a field added here) is believed
    items = [{**item, "scrapedAt": "2026-08-12T05:15:19.924Z"} for item in real(KOSSOF)]
    result = make_import(ws, export(tmp_path, items), SCRAPED_AT="2026-08-13T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert only_envelope(ws, "instagram", "kossof")["scraped_at"] == "2026-08-12T05:15:19Z"
    assert "the items' own scrape time" in result.stdout


def test_an_export_that_cannot_be_read_is_one_line(ws, tmp_path):
    cases = {"envelope.json": ({"items": real(KOSSOF)}, "not a dataset export"),
             "errors.json": (real(NOT_FOUND), "cannot tell the platform"),
             "empty.json": ([], "the export holds no items")}
    for name, (data, says) in cases.items():
        result = make_import(ws, export(tmp_path, data, name))
        assert result.returncode != 0
        [line] = error_lines(result)
        assert says in line, line
    told = make_import(ws, export(tmp_path, real(NOT_FOUND), "errors.json"), PLATFORM="instagram")
    [line] = error_lines(told)                          # told the platform, it finds no item of ours
    assert "no item belongs to" in line and "nothing imported" in line
    assert not ws.raw_dir.exists()
