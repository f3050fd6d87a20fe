"""scripts.scrape run for real (subprocess, real apify-client over HTTP) against tests/fake_apify.py."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml

from scripts.core.files import read_json
from scripts.sources.apify_runs import load_settings
from scripts.core.db import open_db
from scripts.dev.demo import build_workspace
from scripts.core.workspace import PROJECT_DIR, Workspace
from tests.conftest import DEMO_END, run_step
from tests.fake_apify import (FakeApify, instagram_items, instagram_post_scraper, instagram_profile_record,
                              instagram_profile_scraper, instagram_reel_scraper, real_items, tiktok_items,
                              tiktok_profile_scraper, with_items)

TOKEN = "apify_api_FAKE_SECRET_123"
REPO_SETTINGS = load_settings(PROJECT_DIR / "scrape.yml")
TIKTOK = REPO_SETTINGS.platforms["tiktok"].posts.actor
IG_POSTS = REPO_SETTINGS.platforms["instagram"].posts.actor
IG_REELS = REPO_SETTINGS.platforms["instagram"].reels.actor
IG_PROFILE = REPO_SETTINGS.platforms["instagram"].profile.actor
# account -> {platform: handle}; alpha's Instagram handle differs from its folder name
ACCOUNTS = {"alpha": {"tiktok": "alpha", "instagram": "alpha_ig"},
            "beta": {"tiktok": "beta", "instagram": "beta"},
            "gamma": {"tiktok": "gamma"}}


@dataclass
class World:
    """The fake API and what its actors find per handle (tests change it before scraping)."""
    fake: FakeApify
    tiktok: dict[str, list[dict]]
    instagram: dict[str, list[dict]]
    records: dict[str, dict]


@pytest.fixture
def world():
    tiktok = {"alpha": tiktok_items("alpha", 30, 7_100_000_000_000_000_000),
              "beta": tiktok_items("beta", 12, 7_200_000_000_000_000_000),
              "gamma": tiktok_items("gamma", 5, 7_300_000_000_000_000_000)}
    instagram = {"alpha_ig": instagram_items("alpha_ig", 14, 3_100_000_000),
                 "beta": instagram_items("beta", 8, 3_200_000_000)}
    records = {h: instagram_profile_record(h, followers, instagram[h]) for h, followers in (("alpha_ig", 5400),
                                                                                             ("beta", 870))}
    with FakeApify(TOKEN, page_size=25) as fake:
        fake.actors[TIKTOK] = tiktok_profile_scraper(tiktok)
        fake.actors[IG_POSTS] = instagram_post_scraper(instagram)
        fake.actors[IG_REELS] = instagram_reel_scraper(instagram)   # the videos of the same catalogue
        fake.actors[IG_PROFILE] = instagram_profile_scraper(records)
        yield World(fake, tiktok, instagram, records)


def write_accounts(root: Path, accounts: dict) -> Workspace:
    ws = Workspace(root)
    for name, profiles in accounts.items():
        ws.config_path(name).parent.mkdir(parents=True, exist_ok=True)
        ws.config_path(name).write_text(yaml.safe_dump({"platform_profiles": profiles, "timezone": "UTC"}),
                                        encoding="utf-8")
    return ws


def quick_retries(root: Path) -> None:
    """The workspace's own scrape.yml: the repository's, with short backoff so retries take ms."""
    settings = yaml.safe_load((PROJECT_DIR / "scrape.yml").read_text(encoding="utf-8"))
    settings["client"] = {"max_retries": 2, "min_delay_between_retries_ms": 10}
    (root / "scrape.yml").write_text(yaml.safe_dump(settings), encoding="utf-8")


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = write_accounts(tmp_path / "ws", ACCOUNTS)
    quick_retries(ws.root)
    return ws


def scrape(ws: Workspace, world: World, **env: str) -> subprocess.CompletedProcess:
    result = run_step("scrape", ws.root, env={"APIFY_TOKEN": TOKEN, "APIFY_API_BASE_URL": world.fake.url, **env},
                      check=False)
    assert TOKEN not in result.stdout + result.stderr
    return result


def envelopes(ws: Workspace) -> dict[tuple[str, str], list[dict]]:
    """(platform, account) -> its envelopes, oldest first."""
    found: dict[tuple[str, str], list[dict]] = {}
    for path in ws.raw_files():
        assert path.name.endswith(".json.gz")  # scrape writes its envelopes gzipped
        found.setdefault((path.parent.parent.name, path.parent.name), []).append(read_json(path))
    return found


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("scrape: error:")]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def runs_of(fake: FakeApify, actor: str) -> list[dict]:
    return [r for r in fake.runs.values() if r["actId"] == actor.replace("/", "~")]


def served(fake: FakeApify, actor: str, owner: str | None = None) -> list[dict]:
    """What the actor's one run pushed (optionally only the items `owner` owns), as the API sent it."""
    [run] = runs_of(fake, actor)
    return [i for i in fake.datasets[run["defaultDatasetId"]] if owner is None or i.get("ownerUsername") == owner]


def test_one_run_per_platform_items_split_per_account(ws, world):
    result = scrape(ws, world)
    assert result.returncode == 0, result.stderr
    fake = world.fake
    assert [len(fake.runs_started(a)) for a in (TIKTOK, IG_POSTS, IG_REELS, IG_PROFILE)] == [1, 1, 1, 1]
    tiktok_start = fake.runs_started(TIKTOK)[0]
    assert tiktok_start["body"]["profiles"] == ["alpha", "beta", "gamma"]
    assert tiktok_start["body"]["excludePinnedPosts"] is False
    assert fake.runs_started(IG_POSTS)[0]["body"]["username"] == ["alpha_ig", "beta"]
    reels_start = fake.runs_started(IG_REELS)[0]
    assert reels_start["body"]["username"] == ["alpha_ig", "beta"] and reels_start["body"]["resultsLimit"] == 30
    assert reels_start["query"]["maxItems"] == "80" and reels_start["query"]["maxTotalChargeUsd"] == "0.50"
    assert fake.runs_started(IG_PROFILE)[0]["body"]["usernames"] == ["alpha_ig", "beta"]
    assert tiktok_start["query"]["timeout"] == "1800"  # run timeout and charge cap from scrape.yml
    assert tiktok_start["query"]["maxTotalChargeUsd"] == "0.75" and tiktok_start["query"]["maxItems"] == "120"
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert all("gzip" in r["headers"]["accept-encoding"] for r in fake.requests)  # so bodies came gzipped
    assert not [r for r in fake.requests if "/log" in r["path"] or r["path"].startswith("/v2/actors/")
                and r["method"] == "GET"], "logger=None: no log streaming, no actor lookups"

    found = envelopes(ws)
    assert sorted(found) == [("instagram", "alpha"), ("instagram", "beta"),
                             ("tiktok", "alpha"), ("tiktok", "beta"), ("tiktok", "gamma")]
    alpha = found[("tiktok", "alpha")][0]
    assert alpha["items"] == world.tiktok["alpha"]  # verbatim, across two 25-item pages
    assert alpha["items"][0]["isPinned"] is True
    assert alpha["profile"] == {"followers": 2200000, "following": 0, "likes_total": 126000000, "posts_total": 1036}
    tiktok_run = next(r for r in fake.runs.values() if r["actId"] == TIKTOK.replace("/", "~"))
    assert alpha["source"]["run_id"] == tiktok_run["id"]
    assert alpha["source"]["dataset_id"] == tiktok_run["defaultDatasetId"]
    assert alpha["source"]["status"] == "SUCCEEDED" and alpha["source"]["item_count"] == 30
    assert alpha["source"]["charged_events"] == {"actor-start": 1, "result": 47}
    shares = sum(found[("tiktok", a)][0]["source"]["usage_total_usd"] for a in ("alpha", "beta", "gamma"))
    assert shares == pytest.approx(tiktok_run["usageTotalUsd"])  # one run's cost, split, never counted 3x
    beta_ig = found[("instagram", "beta")][0]
    reels = served(fake, IG_REELS, "beta")   # the slim post items carry no views; the reels do
    assert len(reels) == 3 and all({"videoViewCount", "videoPlayCount"} <= set(r) for r in reels)
    assert beta_ig["items"] == world.instagram["beta"] + reels + [world.records["beta"]]   # posts, reels, record
    assert [len(p["childPosts"]) for p in beta_ig["items"][-1]["latestPosts"] if p["type"] == "Sidecar"] == [4, 4, 4]
    assert beta_ig["profile"] == {"followers": 870, "following": 80, "likes_total": None, "posts_total": 120}
    assert [(r["role"], r["actor"]) for r in beta_ig["source"]["runs"]] == [
        ("posts", IG_POSTS), ("reels", IG_REELS), ("profile", IG_PROFILE)]
    assert beta_ig["source"]["missing_runs"] == [] and beta_ig["source"]["item_count"] == 8 + 3 + 1
    assert "Scraped 30 posts for alpha (tiktok), 30 new" in result.stdout
    assert "Scraped 14 posts for alpha (instagram), 14 new" in result.stdout
    assert TOKEN.encode() not in b"".join(p.read_bytes() for p in files_under(ws.root))


def test_repeat_scrapes_write_new_envelopes_and_count_only_new_posts(ws, world):
    assert scrape(ws, world).returncode == 0
    time.sleep(1.05)  # a new stamp (one-second resolution)
    world.tiktok["gamma"].insert(0, tiktok_items("gamma", 1, 7_390_000_000_000_000_000)[0])
    before_load = scrape(ws, world)
    assert not ws.db_path.exists()   # so "new" came from the earlier raw files
    assert "Scraped 6 posts for gamma (tiktok), 1 new" in before_load.stdout
    assert "Scraped 12 posts for beta (tiktok), 0 new" in before_load.stdout
    run_step("load", ws.root)
    time.sleep(1.05)
    world.tiktok["beta"][:0] = tiktok_items("beta", 3, 7_290_000_000_000_000_000)
    world.instagram["beta"][:0] = instagram_items("beta", 1, 3_290_000_000)
    after_load = scrape(ws, world)
    assert after_load.returncode == 0, after_load.stderr
    assert "Scraped 15 posts for beta (tiktok), 3 new" in after_load.stdout   # 12 known from the database
    assert "Scraped 9 posts for beta (instagram), 1 new" in after_load.stdout
    assert "Scraped 30 posts for alpha (tiktok), 0 new" in after_load.stdout
    assert {key: len(found) for key, found in envelopes(ws).items()} == {
        ("instagram", "alpha"): 3, ("instagram", "beta"): 3,
        ("tiktok", "alpha"): 3, ("tiktok", "beta"): 3, ("tiktok", "gamma"): 3}
    load = run_step("load", ws.root)
    assert "Loaded 15 items for beta (tiktok), 3 new posts" in load.stdout
    assert len(world.fake.runs_started()) == 12   # three scrapes, four runs each (one per actor)


def test_failed_run_reports_that_platform_and_writes_the_other(ws, world):
    world.fake.final_status[TIKTOK] = "FAILED"
    world.fake.final_status[IG_PROFILE] = "TIMED-OUT"
    result = scrape(ws, world)
    assert result.returncode == 1
    errors = error_lines(result)
    assert any(line.startswith("scrape: error: tiktok: ") and "ended FAILED" in line for line in errors)
    assert any("instagram: " in line and "ended TIMED-OUT" in line and "lack its follower counts" in line
               for line in errors)
    found = envelopes(ws)
    assert sorted(found) == [("instagram", "alpha"), ("instagram", "beta")]
    alpha = found[("instagram", "alpha")][0]
    assert alpha["profile"] is None   # the profile run failed
    assert alpha["items"] == world.instagram["alpha_ig"] + served(world.fake, IG_REELS, "alpha_ig")
    assert [m["role"] for m in alpha["source"]["missing_runs"]] == ["profile"]
    assert not (ws.raw_dir / "tiktok").exists()


def test_server_errors_are_retried_then_reported_with_the_token_scrubbed(ws, world):
    fake = world.fake
    fake.fail("POST", r"/clockworks~tiktok-profile-scraper/runs$", status=500, times=2)
    fake.fail("GET", r"/datasets/.*/items$", status=503, times=1)
    leaky = f"upstream error for https://api.apify.com/v2/acts?token={TOKEN}&x=1"
    fake.fail("POST", r"/apify~instagram-post-scraper/runs$", status=500, times=99, message=leaky)
    result = scrape(ws, world)
    assert result.returncode == 1
    tiktok_posts = [r for r in fake.requests if r["method"] == "POST" and "tiktok" in r["path"]]
    assert [r["status"] for r in tiktok_posts] == [500, 500, 201]   # the client retried; one run started
    assert len(fake.runs_started(TIKTOK)) == 1
    assert sorted(envelopes(ws)) == [("tiktok", "alpha"), ("tiktok", "beta"), ("tiktok", "gamma")]
    assert envelopes(ws)[("tiktok", "alpha")][0]["items"] == world.tiktok["alpha"]
    ig_posts = [r for r in fake.requests if r["method"] == "POST" and "instagram-post" in r["path"]]
    assert len(ig_posts) == 3                                      # max_retries: 2 from the workspace's scrape.yml
    [line] = [e for e in error_lines(result) if e.startswith("scrape: error: instagram: ")]
    assert "HTTP 500" in line and "3 attempt(s)" in line and "token=***" in line


def test_empty_profile_and_missing_account_are_reported_by_name(ws, world):
    world.tiktok["beta"].clear()                                   # the actor found nothing for beta
    world.instagram["beta"] = [{**item, "ownerUsername": "not_beta"} for item in world.instagram["beta"]]
    del world.records["beta"]                                       # and no profile record either
    result = scrape(ws, world)
    assert result.returncode == 1
    errors = "\n".join(error_lines(result))
    assert "tiktok/beta: no items for profile 'beta'" in errors
    assert "instagram/beta: no items for profile 'beta'" in errors
    assert "instagram/beta: no profile record for 'beta'" in errors
    assert len(error_lines(result)) == 3
    assert "8 item(s) owned by no account we scrape ('not_beta')" in result.stderr
    found = envelopes(ws)
    assert ("tiktok", "beta") not in found and ("instagram", "beta") not in found
    assert sorted(found) == [("instagram", "alpha"), ("tiktok", "alpha"), ("tiktok", "gamma")]
    assert all(i.get("ownerUsername") != "not_beta" for e in found[("instagram", "alpha")] for i in e["items"])


def test_hostile_items_stay_inside_data_raw_and_go_to_known_accounts_only(ws, world):
    base = world.tiktok["alpha"][1]
    script = {**base, "id": "7999", "text": "<script>alert(1)</script> ../../etc/passwd"}
    escapes = [{**base, "id": "7998", "authorMeta": {**base["authorMeta"], "name": "../../escape"}},
               {**base, "id": "7997", "authorMeta": {**base["authorMeta"], "name": "../alpha"}},
               {**base, "id": "7996", "authorMeta": {**base["authorMeta"], "name": "alpha/../beta"}},
               {**base, "id": "7995", "authorMeta": "not an object"}, "not an item"]
    world.tiktok["alpha"][:0] = [script, *escapes]
    world.instagram["alpha_ig"].insert(0, {**world.instagram["alpha_ig"][0], "ownerUsername": "../../alpha_ig"})
    world.instagram["alpha_ig"].insert(0, {**world.instagram["alpha_ig"][1], "ownerUsername": "ALPHA_IG"})
    before = set(files_under(ws.root))
    result = scrape(ws, world)
    assert result.returncode == 0, result.stderr
    written = set(files_under(ws.root)) - before
    allowed = {ws.raw_dir / p / a for p, a in [("tiktok", "alpha"), ("tiktok", "beta"), ("tiktok", "gamma"),
                                                ("instagram", "alpha"), ("instagram", "beta")]}
    assert written and all(path.parent in allowed for path in written)
    alpha = envelopes(ws)[("tiktok", "alpha")][0]
    ids = [item["id"] for item in alpha["items"]]
    assert "7999" in ids and not {"7998", "7997", "7996", "7995"} & set(ids)
    assert alpha["items"][0]["text"] == "<script>alert(1)</script> ../../etc/passwd"   # verbatim
    assert all(item["id"] not in {"7998", "7997", "7996"} for e in envelopes(ws).values() for env in e
               for item in env["items"])
    owners = [i.get("ownerUsername") for i in envelopes(ws)[("instagram", "alpha")][0]["items"]]
    assert "ALPHA_IG" in owners and "../../alpha_ig" not in owners  # handles are case-insensitive
    assert "5 item(s) owned by no account" in result.stderr and "1 item(s) owned by no account" in result.stderr


def test_no_token_is_one_line_and_writes_nothing(ws, world):
    result = scrape(ws, world, APIFY_TOKEN="")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "APIFY_TOKEN" in line and ".env" in line and "data/raw/" in line
    # nothing but the open problem, kept until a token is there
    assert [p.name for p in ws.data_dir.iterdir()] == ["problems.json"] and world.fake.requests == []


def test_token_from_the_workspace_env_file_and_a_wrong_token(ws, world, monkeypatch):
    monkeypatch.delenv("APIFY_TOKEN", raising=False)
    monkeypatch.delenv("APIFY_API_BASE_URL", raising=False)
    (ws.root / ".env").write_text(f"APIFY_TOKEN={TOKEN}\nAPIFY_API_BASE_URL={world.fake.url}\n")
    result = run_step("scrape", ws.root, check=False)
    assert result.returncode == 0, result.stderr
    assert len(envelopes(ws)) == 5
    wrong = scrape(ws, world, APIFY_TOKEN="apify_api_WRONG_TOKEN_456")   # the environment wins over .env
    assert wrong.returncode == 1
    assert all("HTTP 401" in line and "WRONG_TOKEN" not in line for line in error_lines(wrong))
    assert len(error_lines(wrong)) == 2   # one per platform
    assert len(world.fake.runs_started()) == 4


def test_bad_settings_file_is_one_line_and_nothing_runs(ws, world):
    settings = yaml.safe_load((ws.root / "scrape.yml").read_text())
    settings["platforms"]["tiktok"]["posts"]["max_charge_usd"] = 1   # misspelt key
    (ws.root / "scrape.yml").write_text(yaml.safe_dump(settings))
    result = scrape(ws, world)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert f"{ws.root / 'scrape.yml'}: platforms.tiktok.posts.max_charge_usd: Extra inputs" in line
    assert world.fake.requests == [] and not ws.raw_dir.exists()


# --- Instagram: three actors, collabs, error items, a failed run, shares, cost -----------------
def as_collab_of(item: dict, handle: str) -> dict:
    """A real collab item (owned by the partner) re-pointed at one of our handles in coauthorProducers."""
    return {**item, "coauthorProducers": [{**p, "username": handle} for p in item["coauthorProducers"]]}


def test_a_collab_owned_by_another_account_reaches_ours(ws, world):
    real = real_items("collab--pakuwonmall-post-scraper-basic-2026-08.json")  # owners crunchmate.id, kopisikaya
    collabs = [as_collab_of(item, "alpha_ig") for item in real[:2]]           # an image and a reel
    stranger = {k: v for k, v in real[2].items() if k != "coauthorProducers"}  # the same shape, no collab
    world.instagram["alpha_ig"][1:1] = [*collabs, stranger]
    result = scrape(ws, world)
    assert result.returncode == 0, result.stderr
    alpha = envelopes(ws)[("instagram", "alpha")][0]
    assert [i for i in alpha["items"] if i.get("ownerUsername") == "crunchmate.id"] == [
        *collabs, *served(world.fake, IG_REELS, "crunchmate.id")]   # verbatim, and the reel run's copy too
    assert len(served(world.fake, IG_REELS, "crunchmate.id")) == 1
    [posts_run] = runs_of(world.fake, IG_POSTS)
    assert (f"scrape: warning: instagram posts: {IG_POSTS} run {posts_run['id']}: 1 item(s) owned by no account "
            "we scrape ('kopisikaya'); not written") in result.stderr
    assert all(i.get("ownerUsername") != "kopisikaya" for e in envelopes(ws).values() for env in e
               for i in env["items"])


def test_error_items_go_to_the_account_they_name_and_the_rest_are_reported_once(ws, world):
    not_found = real_items("error--post-scraper-not-found-2026-08.json")   # a bad handle, a bad post URL
    beta_gone = {**not_found[0], "url": "https://www.instagram.com/beta/", "username": "beta"}
    no_items = {**real_items("error--no-items-hand-made.json")[0],        # hand-made shape, see its provenance
                "inputUrl": "https://www.instagram.com/ALPHA_IG/"}
    world.instagram["beta"] = [beta_gone]                  # the post scraper finds no beta today
    world.fake.actors[IG_REELS] = with_items(world.fake.actors[IG_REELS], [no_items, *not_found])
    result = scrape(ws, world)
    found = envelopes(ws)
    beta = found[("instagram", "beta")][0]
    assert beta["items"] == [beta_gone, world.records["beta"]]   # for load to count and report
    alpha = found[("instagram", "alpha")][0]
    assert no_items in alpha["items"] and alpha["items"].index(no_items) > len(world.instagram["alpha_ig"])
    [warning] = [line for line in result.stderr.splitlines() if "error item(s)" in line]
    [reels_run] = runs_of(world.fake, IG_REELS)
    assert warning.startswith(f"scrape: warning: instagram reels: {IG_REELS} run {reels_run['id']}: 2 error item(s)")
    assert "not_found: Post does not exist for https://www.instagram.com/p/ZZZZZZZZZZZ/" in warning
    assert not any(i in env["items"] for e in found.values() for env in e for i in not_found)
    [line] = error_lines(result)
    assert line.startswith("scrape: error: instagram/beta: no items for profile 'beta'")
    assert line.endswith("the actor says: not_found: Post does not exist for https://www.instagram.com/beta/")


@pytest.mark.parametrize("how", ["FAILED", "TIMED-OUT", "HTTP 500"])
def test_a_failed_reel_run_still_writes_the_posts_envelopes_and_says_what_they_lack(ws, world, how):
    if how == "HTTP 500":
        world.fake.fail("POST", r"/apify~instagram-reel-scraper/runs$", status=500, times=99)
    else:
        world.fake.final_status[IG_REELS] = how
    result = scrape(ws, world)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith(f"scrape: error: instagram: {IG_REELS}: ") and (how in line or "ended" in line)
    assert line.endswith("; instagram envelopes lack its reel views and shares")
    found = envelopes(ws)
    assert len(found) == 5   # every account, both platforms
    alpha = found[("instagram", "alpha")][0]
    assert alpha["items"] == world.instagram["alpha_ig"] + [world.records["alpha_ig"]]
    assert alpha["profile"]["followers"] == 5400
    [missing] = alpha["source"]["missing_runs"]
    assert missing["role"] == "reels" and missing["actor"] == IG_REELS and missing["error"] in line
    ran = [(r["role"], r["status"]) for r in alpha["source"]["runs"]]
    assert ran == [("posts", "SUCCEEDED")] + ([] if how == "HTTP 500" else [("reels", how)]) + [
        ("profile", "SUCCEEDED")]


def test_shares_are_bought_only_when_scrape_yml_turns_them_on(ws, world):
    assert "\n        # includeSharesCount: true\n" in (PROJECT_DIR / "scrape.yml").read_text()  # off, one line away
    assert scrape(ws, world).returncode == 0
    assert all("includeSharesCount" not in r["body"] for r in world.fake.runs_started())
    assert not [i for i in latest_items(ws, "instagram", "alpha") if "sharesCount" in i]
    settings = yaml.safe_load((ws.root / "scrape.yml").read_text())
    settings["platforms"]["instagram"]["reels"]["input"]["includeSharesCount"] = True
    (ws.root / "scrape.yml").write_text(yaml.safe_dump(settings))
    time.sleep(1.05)  # a new stamp
    assert scrape(ws, world).returncode == 0
    assert world.fake.runs_started(IG_REELS)[-1]["body"]["includeSharesCount"] is True
    others = [r["body"] for a in (TIKTOK, IG_POSTS, IG_PROFILE) for r in world.fake.runs_started(a)]
    assert len(others) == 6 and not [b for b in others if "includeSharesCount" in b]
    shared = [i for i in latest_items(ws, "instagram", "alpha") if "sharesCount" in i]
    assert len(shared) == 5 and all(i["productType"] == "clips" for i in shared)


def test_every_run_logs_its_cost_and_the_envelopes_share_it_out(ws, world):
    result = scrape(ws, world)
    assert result.returncode == 0, result.stderr
    found = envelopes(ws)
    for platform, role, actor in [("tiktok", "posts", TIKTOK), ("instagram", "posts", IG_POSTS),
                                  ("instagram", "reels", IG_REELS), ("instagram", "profile", IG_PROFILE)]:
        [run] = runs_of(world.fake, actor)
        count = len(served(world.fake, actor))
        assert (f"scrape: {platform} {role}: {actor} run {run['id']} SUCCEEDED, {count} items for "
                f"{len(run_input_handles(world.fake, actor))} profiles, ${run['usageTotalUsd']:.4f} "
                f"(actor-start 1, result {count})") in result.stdout
        logged = [r for e in found.values() for env in e for r in env["source"]["runs"] if r["run_id"] == run["id"]]
        assert logged and all(r["usage_total_usd"] == run["usageTotalUsd"] and r["role"] == role for r in logged)
    ig_runs = sum(r["usageTotalUsd"] for a in (IG_POSTS, IG_REELS, IG_PROFILE) for r in runs_of(world.fake, a))
    shares = sum(found[("instagram", a)][0]["source"]["usage_total_usd"] for a in ("alpha", "beta"))
    assert shares == pytest.approx(ig_runs, abs=1e-5)   # three runs' cost, split by items, nothing counted twice


def run_input_handles(fake: FakeApify, actor: str) -> list[str]:
    [start] = fake.runs_started(actor)
    body = start["body"]
    return next(v for k, v in body.items() if k in ("profiles", "username", "usernames"))


# --- make daily, end to end -----------------------------------------------------------------
def latest_items(ws: Workspace, platform: str, account: str) -> list[dict]:
    """The items of the account's newest envelope (.json from the demo, or .json.gz from a scrape)."""
    return read_json([p for p in ws.raw_files() if (p.parent.parent.name, p.parent.name) == (platform, account)][-1])["items"]


def make_daily(ws: Workspace, fake: FakeApify) -> subprocess.CompletedProcess:
    env = {**os.environ, "APIFY_TOKEN": TOKEN, "APIFY_API_BASE_URL": fake.url}
    return subprocess.run(["make", "daily", f"ROOT={ws.root}"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=300)


def test_make_daily_scrapes_loads_and_backfills_without_leaking_the_token(tmp_path):
    root = tmp_path / "ws"
    build_workspace(root, seed=3, days=6, end=date.fromisoformat(DEMO_END), null=False, accounts=2)
    ws = Workspace(root)
    accounts = ws.account_names()
    # today the actors see yesterday's posts plus two new ones per account and platform
    tiktok = {a: tiktok_items(a, 2, 7_400_000_000_000_000_000 + 10 * i) + latest_items(ws, "tiktok", a)
              for i, a in enumerate(accounts)}
    instagram = {a: instagram_items(a, 2, 3_400_000_000 + 10 * i) + latest_items(ws, "instagram", a)
                 for i, a in enumerate(accounts)}
    with FakeApify(TOKEN) as fake:
        fake.actors[TIKTOK] = tiktok_profile_scraper(tiktok)
        fake.actors[IG_POSTS] = instagram_post_scraper(instagram)
        fake.actors[IG_REELS] = instagram_reel_scraper(instagram)
        fake.actors[IG_PROFILE] = instagram_profile_scraper({a: instagram_profile_record(a, 4000) for a in accounts})
        first = make_daily(ws, fake)
        assert first.returncode == 0, first.stdout + first.stderr
        assert (ws.data_dir / ".backfill.stamp").is_file() and "scripts.backfill" in first.stdout
        for account in accounts:   # the actor returns 30 a profile (resultsPerPage), pinned or not
            seen = len({item["id"] for item in tiktok[account][:30]})
            assert f"Scraped {seen} posts for {account} (tiktok), 2 new" in first.stdout
        db = open_db(ws.db_path)
        new_ids = {i["id"] for a in accounts for i in tiktok[a][:2]} | {i["shortCode"] for a in accounts
                                                                       for i in instagram[a][:2]}
        stored = {r["post_id"] for r in db.query("SELECT post_id FROM posts")}
        assert new_ids <= stored
        runs = {r["run_id"] for r in db.query("SELECT run_id FROM scrape_runs WHERE run_id LIKE 'run%'")}
        assert len(runs) == 2 and len(fake.runs_started()) == 4   # posts runs; reels and profile are in source.runs
        followers = db.execute("SELECT followers FROM profile_snapshots WHERE platform = 'instagram' "
                               "ORDER BY scraped_at DESC LIMIT 1").fetchone()[0]
        assert followers == 4000
        # a second run the same day: TikTok fails, Instagram's new post is still loaded, make exits 1
        fake.final_status[TIKTOK] = "FAILED"
        instagram[accounts[0]].insert(0, instagram_items(accounts[0], 1, 3_500_000_000)[0])
        second = make_daily(ws, fake)
    assert second.returncode != 0
    assert "ended FAILED" in second.stderr and "finished with problems in: scrape" in second.stderr
    assert "D3500000000" in {r["post_id"] for r in open_db(ws.db_path).query("SELECT post_id FROM posts")}
    output = first.stdout + first.stderr + second.stdout + second.stderr
    assert TOKEN not in output
    leaked = [p for p in files_under(root) if TOKEN.encode() in p.read_bytes()]
    assert leaked == []
