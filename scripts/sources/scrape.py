"""make scrape: one Apify actor run per platform covering every account's profile, split into raw
envelopes data/raw/<platform>/<account>/<stamp>.json (SPEC), items verbatim.

An item goes to the account whose configured handle equals the item's owner field; the file path
is built from our own account name, never from item text, so no item can be written elsewhere.
A failed run, an HTTP error after the client's retries, or an account with no items is reported
by name; everything else is still written and the step exits non-zero.
"""
from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass


from scripts.sources.apify_runs import (NO_TOKEN, Connection, Job, JobResult, ScrapeSettings, SettingsError,
                                connect, load_settings, run_jobs, settings_path)
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.files import WriteFailed, read_json, write_json_atomic
from scripts.sources.normalize import NORMALIZERS, count
from scripts.core.problems import Problems
from scripts.core.timeutil import to_iso, to_stamp, utc_now
from scripts.core.workspace import PLATFORMS, Workspace


@dataclass(frozen=True)
class Profile:
    account: str
    handle: str


def profiles_by_platform(configs: dict[str, AccountConfig], problems: Problems,
                         ws: Workspace) -> dict[str, list[Profile]]:
    """platform -> the profiles to scrape; a handle claimed by two accounts goes to the first only."""
    found: dict[str, list[Profile]] = {p: [] for p in PLATFORMS}
    for account, config in sorted(configs.items()):
        for platform, handle in config.platform_profiles.items():
            owner = next((p.account for p in found[platform] if p.handle.lower() == handle.lower()), None)
            if owner:
                problems.add(f"{ws.config_path(account)}: platform_profiles.{platform}: profile "
                             f"{handle!r} is already account {owner}'s; not scraped for {account}")
                continue
            found[platform].append(Profile(account, handle))
    return {platform: profiles for platform, profiles in found.items() if profiles}


def build_jobs(settings: ScrapeSettings, profiles: dict[str, list[Profile]]) -> list[Job]:
    jobs = []
    for platform, platform_profiles in profiles.items():
        configured = settings.platforms.get(platform)
        if configured is None:
            continue
        handles = tuple(p.handle for p in platform_profiles)
        jobs.append(Job(platform, "posts", configured.posts, handles))
        if configured.profile is not None:
            jobs.append(Job(platform, "profile", configured.profile, handles))
    return jobs


def owner_of(item: dict, dotted: str) -> str | None:
    value = item
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value.strip().lstrip("@").lower() if isinstance(value, str) else None


def split_by_account(result: JobResult, profiles: list[Profile]) -> tuple[dict[str, list[dict]], list[str]]:
    """account -> its items (verbatim, in dataset order), and the owners of items nobody claims."""
    account_of = {p.handle.lower(): p.account for p in profiles}
    groups: dict[str, list[dict]] = {p.account: [] for p in profiles}
    strangers = []
    for item in result.items:
        owner = owner_of(item, result.job.settings.owner_field) if isinstance(item, dict) else None
        if owner in account_of:
            groups[account_of[owner]].append(item)
        else:
            strangers.append(owner)
    return groups, strangers


def tiktok_profile(items: list[dict], record: dict | None) -> dict | None:
    """Every clockworks item carries its author's counters (rounded by TikTok)."""
    author = next((i["authorMeta"] for i in items if isinstance(i.get("authorMeta"), dict)), None)
    if author is None:
        return None
    return {"followers": count(author.get("fans")), "following": count(author.get("following")),
            "likes_total": count(author.get("heart")), "posts_total": count(author.get("video"))}


def instagram_profile(items: list[dict], record: dict | None) -> dict | None:
    """From the profile scraper's record; Instagram publishes no total likes."""
    if record is None:
        return None
    return {"followers": count(record.get("followersCount")), "following": count(record.get("followsCount")),
            "likes_total": None, "posts_total": count(record.get("postsCount"))}


PROFILE_READERS = {"tiktok": tiktok_profile, "instagram": instagram_profile}


def post_ids(platform: str, items: list) -> set[str]:
    normalize = NORMALIZERS[platform]
    parsed = (normalize(item) for item in items if isinstance(item, dict))
    return {p.post["post_id"] for p in parsed if p is not None}


def known_post_ids(ws: Workspace, account: str, platform: str) -> set[str]:
    """Posts seen before: the database's posts plus raw files load has not read yet."""
    known: set[str] = set()
    loaded: set[str] = set()
    if ws.db_path.is_file():
        conn = sqlite3.connect(ws.db_path, timeout=30)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if {"posts", "raw_files"} <= tables:
                where = ("WHERE account_name = ? AND platform = ?", (account, platform))
                known |= {r[0] for r in conn.execute(f"SELECT post_id FROM posts {where[0]}", where[1])}
                loaded |= {r[0] for r in conn.execute(f"SELECT path FROM raw_files {where[0]}", where[1])}
        finally:
            conn.close()
    for path in ws.raw_files():
        if (path.parent.parent.name, path.parent.name) != (platform, account):
            continue
        if str(path.relative_to(ws.root)) in loaded:
            continue
        try:
            known |= post_ids(platform, read_json(path).get("items") or [])
        except (ValueError, AttributeError, OSError):
            continue  # load reports (and sets aside) a broken file; here it just adds nothing
    return known


def cost_share(result: JobResult | None, items: int, total: int, accounts: int) -> float | None:
    """This account's part of a run that covered every account: by items, else an equal split."""
    if result is None or result.usage_total_usd is None:
        return None
    share = items / total if total else 1 / max(accounts, 1)
    return round(result.usage_total_usd * share, 6)


def envelope_source(posts: JobResult, profile_run: JobResult | None, items: list, has_record: bool,
                    accounts: int) -> dict:
    """The posts run's ids and status; the account's share of every run's cost; each run in full."""
    parts = [cost_share(posts, len(items), len(posts.items), accounts)]
    if profile_run is not None:
        parts.append(cost_share(profile_run, int(has_record), len(profile_run.items), accounts))
    known = [p for p in parts if p is not None]
    return {**posts.source(), "item_count": len(items),
            "usage_total_usd": round(sum(known), 6) if known else None,
            "runs": [r.source() for r in (posts, profile_run) if r is not None and r.run_id]}


def report_strangers(platform: str, strangers: list) -> None:
    if strangers:
        shown = ", ".join(repr(s)[:40] if s else "no owner" for s in sorted(set(strangers), key=str)[:3])
        print(f"scrape: warning: {platform}: {len(strangers)} item(s) owned by no account we scrape "
              f"({shown}); not written", file=sys.stderr)


def write_platform(ws: Workspace, platform: str, profiles: list[Profile],
                   results: dict[tuple[str, str], JobResult], problems: Problems) -> int:
    """One envelope per account with items (or a profile); returns the envelopes written."""
    posts, profile_run = results[(platform, "posts")], results.get((platform, "profile"))
    if posts.error:
        problems.add(f"{platform}: {posts.error}; no {platform} envelopes written")
        return 0
    records: dict[str, list[dict]] = {}
    if profile_run is not None and profile_run.error:
        problems.add(f"{platform}: {profile_run.error}; {platform} envelopes have no follower counts")
    elif profile_run is not None:
        records, _ = split_by_account(profile_run, profiles)
    groups, strangers = split_by_account(posts, profiles)
    report_strangers(platform, strangers)
    scraped = utc_now()
    written = 0
    for profile in profiles:
        items, record = groups[profile.account], (records.get(profile.account) or [None])[0]
        if not items:
            problems.add(f"{platform}/{profile.account}: no items for profile {profile.handle!r} in run "
                         f"{posts.run_id} (private, renamed, or skipped by the actor)")
        if profile_run is not None and not profile_run.error and record is None:
            problems.add(f"{platform}/{profile.account}: no profile record for {profile.handle!r} "
                         f"in run {profile_run.run_id}")
        envelope_profile = PROFILE_READERS[platform](items, record)
        if not items and envelope_profile is None:
            continue
        new = post_ids(platform, items) - known_post_ids(ws, profile.account, platform)
        envelope = {"account": profile.account, "platform": platform, "scraped_at": to_iso(scraped),
                    "source": envelope_source(posts, profile_run, items, record is not None, len(profiles)),
                    "profile": envelope_profile, "items": items}
        if write_envelope(ws.raw_path(platform, profile.account, to_stamp(scraped)), envelope, problems):
            written += 1
            print(f"Scraped {len(post_ids(platform, items))} posts for {profile.account} ({platform}), "
                  f"{len(new)} new")
    return written


def write_envelope(target, envelope: dict, problems: Problems) -> bool:
    try:
        write_json_atomic(target, envelope)
    except WriteFailed as exc:  # names the file and the reason
        problems.add(str(exc))
        return False
    return True


def describe_runs(results: dict[tuple[str, str], JobResult]) -> None:
    for (platform, role), r in sorted(results.items()):
        if r.run_id is None:   # never started: its error is reported with the platform
            continue
        cost = f"${r.usage_total_usd:.4f}" if r.usage_total_usd is not None else "cost unknown"
        events = ", ".join(f"{k} {v}" for k, v in sorted((r.charged_events or {}).items()))
        print(f"scrape: {platform} {role}: {r.job.settings.actor} run {r.run_id} {r.status}, "
              f"{len(r.items)} items for {len(r.job.handles)} profiles, {cost}" + (f" ({events})" if events else ""))


def scrape_workspace(ws: Workspace) -> Problems:
    problems = Problems("scrape")
    path = settings_path(ws)
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        problems.add(str(exc))
        return problems
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    profiles = profiles_by_platform(configs, problems, ws)
    jobs = build_jobs(settings, profiles)
    for platform in sorted(set(profiles) - set(settings.platforms)):
        print(f"scrape: {platform}: not configured in {path}; not scraped")
    if not jobs:
        print(f"scrape: no account under {ws.accounts_dir} has platform_profiles for a platform in {path}; "
              "nothing to scrape")
        return problems
    conn: Connection | None = connect(ws)
    if conn is None:
        problems.add(NO_TOKEN)
        return problems
    results = run_jobs(jobs, conn, settings)
    describe_runs(results)
    written = sum(write_platform(ws, platform, profiles[platform], results, problems)
                  for platform in sorted({job.platform for job in jobs}))
    print(f"scrape: {written} raw envelopes written under {ws.raw_dir}")
    return problems
