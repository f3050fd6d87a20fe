"""Build a realistic synthetic workspace: configs, generator output folders and ~120 days of daily
raw envelopes in the real Apify item shapes, with the effects listed in demo_world.PLANTED
(or none, with --null). Writes <root>/truth.json so tests can check what the pipeline recovers.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import yaml

from scripts.dev.demo_world import (DEMO_ACCOUNTS, FORMATS, PILLARS, PLANTED, AccountSpec, PlannedPost,
                                plan_account, views_at)
from scripts.core.files import write_json_atomic
from scripts.core.progress import progress
from scripts.core.timeutil import to_iso, to_stamp
from scripts.core.workspace import Workspace

TIKTOK_ACTOR = "clockworks/tiktok-profile-scraper"
INSTAGRAM_ACTOR = "apify/instagram-post-scraper"
POSTS_PER_SCRAPE = 30


def extra_accounts(count: int, rng) -> list[AccountSpec]:
    """More accounts for benchmarks, drawn like the demo's."""
    zones = ["America/New_York", "America/Chicago", "Europe/Berlin", "Asia/Tokyo", "Australia/Perth"]
    pillars = sorted(PILLARS)
    specs = []
    for i in range(count):
        chosen = tuple(rng.choice(pillars, size=3, replace=False).tolist())
        specs.append(AccountSpec(f"account{i + 1:03d}", zones[i % len(zones)], int(rng.integers(1000, 90000)),
                                 chosen, float(rng.uniform(500, 12000))))
    return specs


def write_config(ws: Workspace, spec: AccountSpec) -> None:
    config = {
        "platform_profiles": {"tiktok": spec.name, "instagram": spec.name},
        "timezone": spec.timezone,
        "content_pillars": {p: PILLARS[p][0] for p in spec.pillars},
        "formats": list(FORMATS),
    }
    path = ws.config_path(spec.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def write_output_folder(ws: Workspace, post: PlannedPost) -> None:
    folder = ws.output_dir(post.account) / post.key
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"topic": post.topic, "format": post.format, "hook_text": post.hook_text,
            "hook_score": post.hook_score, "generated_at": to_iso(post.generated_at),
            "pillar_hint": post.pillar, "slide_count": post.slide_count}
    carousel = {"caption": post.caption, "slides": [{"index": i + 1, "text": t} for i, t in enumerate(post.slides)]}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (folder / "carousel_data.json").write_text(json.dumps(carousel, indent=2), encoding="utf-8")


def tiktok_item(post: PlannedPost, post_id: str, age_days: float, followers: int, pinned: bool) -> dict:
    views = views_at(post, age_days)
    created = post.published["tiktok"]
    slideshow = post.media == "carousel"
    plays = int(round(views, -2)) if views >= 10000 else int(views)  # TikTok rounds large counters
    return {
        "id": post_id, "text": post.caption, "textLanguage": "en",
        "createTime": int(created.timestamp()), "createTimeISO": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "isAd": False,
        "authorMeta": {"id": str(zlib.crc32(post.account.encode())), "name": post.account,
                       "profileUrl": f"https://www.tiktok.com/@{post.account}", "nickName": post.account.title(),
                       "verified": False, "signature": "Gentle parenting, one slide at a time",
                       "privateAccount": False, "following": 12, "friends": 3,
                       "fans": int(round(followers, -2)) if followers >= 10000 else followers,
                       "heart": followers * 11, "video": 200, "digg": 40},
        "musicMeta": {"musicName": f"original sound - {post.account}", "musicOriginal": True, "musicId": "0"},
        "webVideoUrl": f"https://www.tiktok.com/@{post.account}/video/{post_id}",
        "mediaUrls": [],
        "videoMeta": {"height": 0 if slideshow else 1024, "width": 0 if slideshow else 576,
                      "duration": 0 if slideshow else 21, "coverUrl": f"https://p16.example/{post_id}.jpeg?x-expires=1"},
        "diggCount": int(views * post.rates["like"]), "shareCount": int(views * post.rates["share"]),
        "playCount": plays, "collectCount": int(views * post.rates["save"]),
        "commentCount": int(views * post.rates["comment"]),
        "mentions": [], "detailedMentions": [],
        "hashtags": [{"name": tag.strip("#")} for tag in post.caption.split() if tag.startswith("#")],
        "effectStickers": [],
        "isSlideshow": slideshow,
        **({"slideshowImageLinks": [{"tiktokLink": f"https://p16.example/{post_id}/{i}.jpeg?x-expires=1",
                                      "downloadLink": f"https://p16.example/{post_id}/{i}.jpeg?x-expires=1"}
                                     for i in range(post.slide_count)]} if slideshow else {}),
        "isPinned": pinned, "isSponsored": False, "input": post.account, "fromProfileSection": "videos",
    }


def instagram_item(post: PlannedPost, code: str, age_days: float, hidden_likes: bool) -> dict:
    reach = views_at(post, age_days) * 0.6
    created = post.published["instagram"]
    video = post.media == "video"
    item = {
        "inputUrl": f"https://www.instagram.com/{post.account}/", "id": str(int(code, 36)),
        "type": "Video" if video else "Sidecar", "productType": "clips" if video else "carousel_container",
        "shortCode": code, "url": f"https://www.instagram.com/p/{code}/", "caption": post.caption,
        "hashtags": [tag.strip("#") for tag in post.caption.split() if tag.startswith("#")],
        "mentions": [], "taggedUsers": [],
        "timestamp": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "likesCount": -1 if hidden_likes else int(reach * post.rates["like"]),
        "commentsCount": int(reach * post.rates["comment"]),
        "displayUrl": f"https://scontent.example/{code}.jpg?oe=1",
        "ownerUsername": post.account, "ownerFullName": post.account.title(), "isPinned": False,
        "isCommentsDisabled": False, "dimensionsHeight": 1350, "dimensionsWidth": 1080,
    }
    if video:
        item.update({"videoViewCount": int(reach), "videoPlayCount": int(reach * 4.5), "videoDuration": 21.0})
    else:
        item.update({"carouselImageCount": post.slide_count,
                     "images": [f"https://scontent.example/{code}/{i}.jpg?oe=1" for i in range(post.slide_count)],
                     "childPosts": []})
    return item


def _ids(posts: list[PlannedPost], rng) -> dict[tuple[str, str], str]:
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    ids = {}
    for post in posts:
        for platform in post.platforms:
            if platform == "tiktok":
                ids[(post.key, platform)] = "7" + "".join(str(d) for d in rng.integers(0, 10, 18))
            else:
                ids[(post.key, platform)] = "D" + "".join(rng.choice(alphabet, 10))
    return ids


def scrape_day(spec: AccountSpec, platform: str, posts: list[PlannedPost], ids: dict, when: datetime,
               day_index: int, rng) -> dict:
    published = sorted((p for p in posts if platform in p.platforms and p.published[platform] <= when),
                       key=lambda p: p.published[platform], reverse=True)
    latest = published[:POSTS_PER_SCRAPE]
    followers = int(spec.followers * (1 + 0.002 * day_index) * (1 if platform == "tiktok" else 0.7))
    pinned = published[-1] if platform == "tiktok" and len(published) > POSTS_PER_SCRAPE else None
    chosen = ([pinned] if pinned else []) + latest
    if platform == "tiktok" and rng.random() < 0.04:  # the actor sometimes skips half a profile
        chosen = [p for p in chosen if rng.random() < 0.5]
    items = []
    for post in chosen:
        age = (when - post.published[platform]).total_seconds() / 86400
        pid = ids[(post.key, platform)]
        if platform == "tiktok":
            items.append(tiktok_item(post, pid, age, followers, pinned=post is pinned))
        else:
            items.append(instagram_item(post, pid, age, hidden_likes=int(pid[-2:], 36) % 31 == 0))
    if items and rng.random() < 0.05:  # the same post twice in one dataset
        items.append(dict(items[-1]))
    actor = TIKTOK_ACTOR if platform == "tiktok" else INSTAGRAM_ACTOR
    profile = ({"followers": followers, "following": 12, "likes_total": followers * 11, "posts_total": len(published)}
               if platform == "tiktok" else {"followers": followers, "following": 80, "likes_total": None,
                                             "posts_total": len(published)})
    return {"account": spec.name, "platform": platform, "scraped_at": to_iso(when),
            "source": {"actor": actor, "run_id": f"demo{rng.integers(1e9):09d}",
                       "dataset_id": f"ds{rng.integers(1e9):09d}", "status": "SUCCEEDED",
                       "item_count": len(items), "usage_total_usd": round(0.005 + 0.003 * len(items), 4),
                       "charged_events": {"actor-start": 1, "result": len(items)}},
            "profile": profile, "items": items}


def build_account(ws: Workspace, spec: AccountSpec, start: date, days: int, rng, null: bool) -> list[dict]:
    write_config(ws, spec)
    posts = plan_account(spec, start, days, rng, null)
    ids = _ids(posts, rng)
    for post in posts:
        if post.generated_at is not None:
            write_output_folder(ws, post)
    for i in range(int(days * 0.04)):  # drafts the team generated but never published
        draft = posts[int(rng.integers(len(posts)))]
        folder = ws.output_dir(spec.name) / f"{draft.key}_draft{i}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text(json.dumps({"topic": "unused idea", "format": "how_to",
                                                      "hook_text": f"Draft idea number {i}", "hook_score": 5.0,
                                                      "generated_at": to_iso(draft.generated_at or draft.published[draft.platforms[0]])}))
    for day_index in range(1, days + 1):
        when = datetime.combine(start + timedelta(days=day_index), datetime.min.time(), timezone.utc)
        when += timedelta(hours=8, minutes=int(rng.integers(0, 10)), seconds=int(rng.integers(0, 60)))
        for platform in ("tiktok", "instagram"):
            envelope = scrape_day(spec, platform, posts, ids, when, day_index, rng)
            write_json_atomic(ws.raw_path(platform, spec.name, to_stamp(when)), envelope)
    return [_truth_row(post, ids) for post in posts]


def _truth_row(post: PlannedPost, ids: dict) -> dict:
    return {"account": post.account, "folder": post.key if post.generated_at else None,
            "post_ids": {p: ids[(post.key, p)] for p in post.platforms},
            "published": {p: to_iso(t) for p, t in post.published.items()},
            "topic": post.topic, "content_pillar": post.pillar, "format": post.format,
            "hook_style": post.hook_style, "cta": post.cta, "slide_count": post.slide_count,
            "hook_score": post.hook_score, "media": post.media, "final_views": round(post.final_views, 1),
            "tau_days": round(post.tau_days, 2)}


def build_workspace(root: Path, seed: int, days: int, end: date, null: bool, accounts: int) -> dict:
    rng = np.random.default_rng(seed)
    ws = Workspace(root)
    specs = list(DEMO_ACCOUNTS) if accounts <= len(DEMO_ACCOUNTS) else \
        list(DEMO_ACCOUNTS) + extra_accounts(accounts - len(DEMO_ACCOUNTS), rng)
    specs = specs[:accounts]
    start = end - timedelta(days=days)
    truth_posts = []
    with progress(len(specs), f"demo: generating {root}, accounts") as bar:
        for spec in specs:
            truth_posts += build_account(ws, spec, start, days, rng, null)
            bar.advance()
    for state in ("pending", "approved", "applied", "rejected"):
        ws.rec_dir(state).mkdir(parents=True, exist_ok=True)
    truth = {"seed": seed, "null": null, "days": days, "end": end.isoformat(),
             "planted": [] if null else PLANTED, "posts": truth_posts}
    write_json_atomic(root / "truth.json", truth)
    return truth


class DemoExists(FileExistsError):
    """The target folder holds something and --force was not given."""


def create_demo(root, seed: int, days: int, end: date, accounts: int, null: bool, force: bool) -> str:
    """Write the world at root (replacing it only with force); the one-line description of it."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not force:
            raise DemoExists(f"{root} exists and is not empty (use --force to replace it)")
        shutil.rmtree(root)
    truth = build_workspace(root, seed, days, end, null, accounts)
    kind = "null world (no real differences)" if null else f"{len(truth['planted'])} planted effects"
    return f"demo: wrote {root}: {accounts} accounts, {len(truth['posts'])} posts, {days} days of scrapes, {kind}"


# What a workspace tracks in git: what people write and decide (configs, contexts, proposals)
# and the raw envelopes nothing else can rebuild; not what the pipeline rebuilds from them.
WORKSPACE_GITIGNORE = """\
# account-analytics workspace (docs/demo.md): track configs, contexts, proposals and raw envelopes;
# the database, insights, dashboards, stamps and logs are rebuilt from them
data/*
!data/raw/
data/raw/_rejected/
.env
"""


def make_repository(root) -> str:
    """Make the demo workspace a git repository with one commit, so approving is the README's
    `git mv`; the line to print (a note when git is missing)."""
    root = Path(root)
    (root / ".gitignore").write_text(WORKSPACE_GITIGNORE, encoding="utf-8")
    git = ["git", "-C", str(root), "-c", "user.name=account-analytics demo", "-c", "user.email=demo@localhost"]
    try:
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "demo workspace: configs, raw data, proposals"]):
            subprocess.run(git + args, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"demo: {root} is not a git repository ({exc}); approve with make approve ID=..."
    return f"demo: {root} is a git repository: approve with git mv (or make approve ID=...)"
