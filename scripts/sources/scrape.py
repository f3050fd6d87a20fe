"""make scrape: one Apify run per actor per day covering every account's profile (Instagram: posts,
reels, profiles), split into raw envelopes data/raw/<platform>/<account>/<stamp>.json.gz (SPEC): each
holds every run's items for that account, verbatim, posts first.

An item goes to the account whose configured handle equals the item's owner field, or is among its
collab partners (coauthorProducers); an error item to the account its input echo names. The file
path is built from our own account name, never from item text, so no item can be written
elsewhere. A failed run, an HTTP error after the client's retries, or an account with no items is
reported by name; everything else is still written and the step exits non-zero.
"""
from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scripts.sources.apify_runs import (NO_TOKEN, ROLES, Connection, Job, JobResult, ScrapeSettings,
                                        SettingsError, connect, load_settings, run_jobs, settings_path)
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.files import WriteFailed, read_json, write_json_gz_atomic
from scripts.sources.normalize import ERROR_ITEM, NORMALIZERS, coauthors, count, handle, non_post
from scripts.core.problems import Problems
from scripts.core.textsafety import printable
from scripts.core.timeutil import to_iso, to_stamp, utc_now
from scripts.core.workspace import PLATFORMS, Workspace, envelope_path


@dataclass(frozen=True)
class Profile:
    account: str
    handle: str


def profiles_by_platform(configs: dict[str, AccountConfig], problems: Problems,
                         ws: Workspace) -> dict[str, list[Profile]]:
    """platform -> the profiles to scrape; a handle claimed by two accounts goes to the first only."""
    found: dict[str, list[Profile]] = {p: [] for p in PLATFORMS}
    for account, config in sorted(configs.items()):
        for platform, name in config.platform_profiles.items():
            owner = next((p.account for p in found[platform] if p.handle.lower() == name.lower()), None)
            if owner:
                problems.add(f"{ws.config_path(account)}: platform_profiles.{platform}: profile "
                             f"{name!r} is already account {owner}'s; not scraped for {account}")
                continue
            found[platform].append(Profile(account, name))
    return {platform: profiles for platform, profiles in found.items() if profiles}


def build_jobs(settings: ScrapeSettings, profiles: dict[str, list[Profile]]) -> list[Job]:
    """One job per configured run of each platform, every profile of that platform in it."""
    jobs = []
    for platform, platform_profiles in profiles.items():
        configured = settings.platforms.get(platform)
        if configured is None:
            continue
        handles = tuple(p.handle for p in platform_profiles)
        jobs += [Job(platform, role, actor, handles) for role, actor in configured.runs()]
    return jobs


# --- which account an item belongs to ---------------------------------------------------------
ERROR_INPUT_FIELDS = ("inputUrl", "url", "username", "input")  # where error items echo their input
POST_ROLES = ("posts", "reels")  # the runs whose items are posts; "profile" gives the profile record


@dataclass
class Split:
    """One dataset divided among our accounts: each account's items (verbatim, dataset order),
    the owners named by items nobody claims, and error items naming no profile we scrape."""
    groups: dict[str, list[dict]]
    strangers: list[str | None] = field(default_factory=list)
    loose_errors: list[dict] = field(default_factory=list)


def owner_of(item: dict, dotted: str) -> str | None:
    value = item
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return handle(value)


def input_handle(value) -> str | None:
    """The handle an error item's input echo names: a bare handle, or a profile URL's first segment
    (a post URL gives 'p', which is nobody's)."""
    if isinstance(value, str) and "://" in value:
        value = urlsplit(value.strip()).path.strip("/").split("/")[0]
    return handle(value)


def is_error(platform: str, item) -> bool:
    """An item the actor pushed instead of a result ({"error": "not_found", ...}), by load's own
    rule (normalize.non_post), so scrape and load agree on what an error item is."""
    return isinstance(item, dict) and non_post(platform, item) == ERROR_ITEM


def split_items(platform: str, items: list, owner_fields: tuple[str, ...], profiles: list[Profile]) -> Split:
    """Each item to the account whose handle its owner field names (the first of `owner_fields`
    the item has), or whose handle is among its collab partners; an error item to the account
    whose handle its input echo names."""
    account_of = {p.handle.lower(): p.account for p in profiles}
    split = Split({p.account: [] for p in profiles})
    for item in items:
        if not isinstance(item, dict):
            split.strangers.append(None)
        elif is_error(platform, item):
            _place_error(item, account_of, split)
        else:
            _place_item(item, owner_fields, account_of, split)
    return split


def _place_error(item: dict, account_of: dict[str, str], split: Split) -> None:
    handles = (input_handle(item.get(f)) for f in ERROR_INPUT_FIELDS)
    account = next((account_of[h] for h in handles if h in account_of), None)
    if account is None:
        split.loose_errors.append(item)
    else:
        split.groups[account].append(item)


def _place_item(item: dict, owner_fields: tuple[str, ...], account_of: dict[str, str], split: Split) -> None:
    owner = next((o for f in owner_fields if (o := owner_of(item, f)) is not None), None)
    names = ([owner] if owner else []) + sorted(coauthors(item.get("coauthorProducers")))
    accounts = dict.fromkeys(account_of[n] for n in names if n in account_of)  # a collab of two of ours: both
    for account in accounts:
        split.groups[account].append(item)
    if not accounts:
        split.strangers.append(owner)


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
        if str(envelope_path(path).relative_to(ws.root)) in loaded:
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


def envelope_source(runs: list[JobResult], splits: dict[str, Split], account: str, item_count: int,
                    accounts: int) -> dict:
    """The posts run's ids and status; the account's share of every run's cost; each run in full,
    and the runs whose items the envelope lacks (failed, or never started)."""
    parts = [cost_share(run, len(splits[run.job.role].groups[account]) if run.job.role in splits else 0,
                        len(run.items), accounts) for run in runs]
    known = [p for p in parts if p is not None]
    return {**runs[0].source(), "item_count": item_count,
            "usage_total_usd": round(sum(known), 6) if known else None,
            "runs": [{"role": r.job.role, **r.source()} for r in runs if r.run_id],
            "missing_runs": [{"role": r.job.role, "actor": r.job.settings.actor, "error": r.error}
                             for r in runs if r.error]}


def error_summary(item: dict) -> str:
    said = ": ".join(str(item[k]) for k in ("error", "errorDescription") if item.get(k))
    echo = next((item[f] for f in ERROR_INPUT_FIELDS if isinstance(item.get(f), str)), None)
    return printable(said + (f" for {echo}" if echo else ""))[:120]


def leftover_lines(split: Split) -> list[str]:
    """What a split could not place, one line each: items owned by nobody we scrape, and error
    items naming no profile we scrape. Neither is written anywhere, so this is their only trace."""
    lines = []
    if split.strangers:
        shown = ", ".join(repr(s)[:40] if s else "no owner" for s in sorted(set(split.strangers), key=str)[:3])
        lines.append(f"{len(split.strangers)} item(s) owned by no account we scrape ({shown}); not written")
    if split.loose_errors:
        shown = "; ".join(dict.fromkeys(error_summary(i) for i in split.loose_errors[:3]))
        lines.append(f"{len(split.loose_errors)} error item(s) naming no profile we scrape ({shown}); not written")
    return lines


# what an envelope lacks when this run failed
LOSSES = {"reels": "reel views and shares", "profile": "follower counts and carousel slides"}


def platform_runs(results: dict[tuple[str, str], JobResult], platform: str) -> list[JobResult]:
    return [results[(platform, role)] for role in ROLES if (platform, role) in results]


def split_run(run: JobResult, profiles: list[Profile]) -> Split:
    """The run's items per account; what it could not place is a warning, once per run."""
    split = split_items(run.job.platform, run.items, (run.job.settings.owner_field,), profiles)
    for line in leftover_lines(split):
        print(f"scrape: warning: {run.job.platform} {run.job.role}: {run.job.settings.actor} run {run.run_id}: "
              f"{line}", file=sys.stderr)
    return split


def write_platform(ws: Workspace, platform: str, profiles: list[Profile],
                   results: dict[tuple[str, str], JobResult], problems: Problems) -> int:
    """One envelope per account with items (or a profile); returns the envelopes written. Without
    the posts run nothing is written; without another run the envelopes say what they lack."""
    runs = platform_runs(results, platform)
    if runs[0].error:
        problems.add(f"{platform}: {runs[0].error}; no {platform} envelopes written")
        return 0
    for run in runs[1:]:
        if run.error:
            problems.add(f"{platform}: {run.error}; {platform} envelopes lack its {LOSSES[run.job.role]}")
    splits = {run.job.role: split_run(run, profiles) for run in runs if not run.error}
    scraped = utc_now()
    return sum(write_account(ws, platform, profile, runs, splits, problems, scraped, len(profiles))
               for profile in profiles)


def record_of(platform: str, splits: dict[str, Split], account: str) -> dict | None:
    found = splits["profile"].groups[account] if "profile" in splits else []
    return next((item for item in found if not is_error(platform, item)), None)


def check_account(platform: str, profile: Profile, runs: list[JobResult], splits: dict[str, Split],
                  problems: Problems) -> None:
    got = splits["posts"].groups[profile.account]
    if all(is_error(platform, item) for item in got):
        said = "; ".join(dict.fromkeys(error_summary(i) for i in got[:3]))
        problems.add(f"{platform}/{profile.account}: no items for profile {profile.handle!r} in run "
                     f"{runs[0].run_id} (private, renamed, or skipped by the actor)"
                     + (f"; the actor says: {said}" if said else ""))
    if "profile" in splits and record_of(platform, splits, profile.account) is None:
        profile_run = next(r for r in runs if r.job.role == "profile")
        problems.add(f"{platform}/{profile.account}: no profile record for {profile.handle!r} "
                     f"in run {profile_run.run_id}")


def write_account(ws: Workspace, platform: str, profile: Profile, runs: list[JobResult],
                  splits: dict[str, Split], problems: Problems, scraped, accounts: int) -> bool:
    """The account's envelope: every run's items for it, posts first, then reels, then its record."""
    check_account(platform, profile, runs, splits, problems)
    account = profile.account
    items = [item for role in ROLES if role in splits for item in splits[role].groups[account]]
    posts = [item for role in POST_ROLES if role in splits for item in splits[role].groups[account]]
    envelope_profile = PROFILE_READERS[platform](posts, record_of(platform, splits, account))
    if not items and envelope_profile is None:
        return False
    ids = post_ids(platform, posts)
    new = ids - known_post_ids(ws, account, platform)
    envelope = {"account": account, "platform": platform, "scraped_at": to_iso(scraped),
                "source": envelope_source(runs, splits, account, len(items), accounts),
                "profile": envelope_profile, "items": items}
    if not write_envelope(ws.compressed_raw_path(platform, account, to_stamp(scraped)), envelope, problems):
        return False
    print(f"Scraped {len(ids)} posts for {account} ({platform}), {len(new)} new")
    return True


def write_envelope(target, envelope: dict, problems: Problems) -> bool:
    """The envelope gzipped (a tenth of the size: docs/bench.md), written atomically."""
    try:
        write_json_gz_atomic(target, envelope)
    except WriteFailed as exc:  # names the file and the reason
        problems.add(str(exc))
        return False
    return True


def describe_runs(results: dict[tuple[str, str], JobResult]) -> None:
    """One line per run with its real cost: the same line whether the run succeeded or not."""
    for (platform, role), r in sorted(results.items(), key=lambda kv: (kv[0][0], ROLES.index(kv[0][1]))):
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
