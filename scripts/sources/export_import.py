"""make import: an Apify dataset export (the JSON array of items, or the Console's CSV) -> raw
envelopes data/raw/<platform>/<account>/<stamp>.json.gz, split by owner with the very code scrape
splits a run with (scripts/sources/scrape.py), so a user without a token never builds one by hand.

A CSV export flattens each item ("authorMeta/name", "hashtags/0/name") and writes every value as
text; it is unflattened here and its numbers and booleans read back, while ids and free text stay
text (a caption "2024" is no number). An empty cell is a value the item did not have. Nothing is
overwritten: a scrape time the account already has, or items already imported, are refused.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scripts.core.config import load_accounts
from scripts.core.files import UnreadableJson, WriteFailed, read_bytes_bounded, read_json, write_json_gz_atomic
from scripts.core.problems import Problems
from scripts.core.timeutil import parse_utc, to_iso, to_stamp
from scripts.core.workspace import COMPRESSED_SUFFIX, RAW_SUFFIX, Workspace, raw_stamp
from scripts.sources.apify_runs import ScrapeSettings, SettingsError, load_settings, settings_path
from scripts.sources.normalize import PROFILE_RECORD, non_post
from scripts.sources.scrape import (PROFILE_READERS, Profile, Split, is_error, leftover_lines, post_ids,
                                    profiles_by_platform, split_items)

# keys that tell the platform: clockworks TikTok items vs Apify Instagram posts and profile records
PLATFORM_KEYS = {"tiktok": ("authorMeta", "webVideoUrl"), "instagram": ("ownerUsername", "shortCode", "latestPosts")}
# where an item may carry its own scrape time (none of the default actors sends one)
SCRAPE_TIME_KEYS = ("scrapedAt", "scraped_at")
# CSV cells that stay text although they look like numbers: ids (beyond a float's precision),
# handles and free text
TEXT_KEYS = {"id", "pk", "code", "shortCode", "text", "caption", "title", "name", "nickName", "fullName",
             "ownerFullName", "ownerUsername", "username", "signature", "input", "alt", "firstComment",
             "transcript", "biography", "locationName", "musicName", "musicAuthor", "musicAlbum",
             "song_name", "artist_name"}
JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class ExportError(ValueError):
    """The export cannot be imported at all: one line naming the file and why."""


@dataclass(frozen=True)
class ImportRequest:
    file: str | None
    account: str | None      # only this account's items (ACCOUNT=)
    platform: str | None     # instead of detecting it (PLATFORM=)
    scraped_at: str | None   # when the export's run scraped, if its items do not say (SCRAPED_AT=)
    now: datetime


# --- reading the export ------------------------------------------------------------------------
def read_export(name: str | None) -> tuple[list, str]:
    """(the items, "json" or "csv")."""
    if not name:
        raise ExportError("no export given: make import FILE=<an Apify dataset export, .json or .csv>")
    path = Path(name).expanduser()
    fmt = "csv" if path.suffix.lower() == ".csv" else "json"
    try:
        items = read_csv_items(path) if fmt == "csv" else read_json(path)
    except UnreadableJson as exc:
        raise ExportError(f"{path}: {exc}") from None
    if not isinstance(items, list):
        raise ExportError(f"{path}: not a dataset export (Apify exports a JSON array of items; this is a "
                          f"JSON {type(items).__name__})")
    if not items:
        raise ExportError(f"{path}: the export holds no items")
    return items, fmt


def read_csv_items(path: Path) -> list[dict]:
    """The Console's CSV export, one item per record, nested again."""
    try:
        text = read_bytes_bounded(path).decode("utf-8-sig")  # the Console writes a BOM
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ExportError(f"{path}: no header line")
    items = []
    for row in reader:
        if len(row) != len(header):
            raise ExportError(f"{path}: line {reader.line_num}: {len(row)} cells for {len(header)} columns")
        items.append(unflatten(zip(header, row), path))
    return items


def unflatten(cells, path: Path) -> dict:
    """{"a/0/b": "1"} -> {"a": [{"b": 1}]}: a numeric segment is a list position. Empty cells
    are left out (the item had no such value); the lists keep their order, without gaps."""
    tree: dict = {}
    for column, text in cells:
        if text == "":
            continue
        keys = [int(k) if k.isdigit() else k for k in column.split("/")]
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ExportError(f"{path}: column {column!r} runs into another column's value")
        if keys[-1] in node:
            raise ExportError(f"{path}: column {column!r} collides with another column")
        node[keys[-1]] = cell_value(keys, text)
    return _as_lists(tree)


def _as_lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_as_lists(node[k]) for k in sorted(node)]
    return {str(k): _as_lists(v) for k, v in node.items()}


def cell_value(keys: list, text: str):
    """A CSV cell as the JSON value it was: true/false, a number, or text."""
    if text in ("true", "false"):
        return text == "true"
    leaf = keys[-1]
    if isinstance(leaf, int) or leaf in TEXT_KEYS or leaf.endswith(("Id", "_id")):  # list elements are text
        return text                                                                 # (hashtags, image URLs)
    if JSON_NUMBER.fullmatch(text):
        number = json.loads(text)
        return number if isinstance(number, int) or math.isfinite(number) else text  # 1e400: no float
    return text


def detect_platform(items: list) -> str:
    found = {platform for item in items if isinstance(item, dict)
             for platform, keys in PLATFORM_KEYS.items() if any(k in item for k in keys)}
    if len(found) == 1:
        return found.pop()
    what = "items of both platforms" if found else "no item names its platform (authorMeta, ownerUsername, …)"
    raise ExportError(f"cannot tell the platform: {what}; pass PLATFORM=tiktok or PLATFORM=instagram")


def owner_fields(settings: ScrapeSettings, platform: str) -> tuple[str, ...]:
    """Every owner field scrape.yml names for the platform's runs: an export may mix posts (owner
    ownerUsername) and profile records (owner username)."""
    configured = settings.platforms.get(platform)
    if configured is None:
        raise ExportError(f"{platform} is not configured in scrape.yml, so its items' owner field is unknown")
    return tuple(dict.fromkeys(actor.owner_field for _, actor in configured.runs()))


# --- when it was scraped --------------------------------------------------------------------------
def scrape_time(items: list[dict], request: ImportRequest) -> tuple[datetime, str]:
    """(the scrape time, where it came from): the items' own, else --scraped-at, else now."""
    own = [t for item in items for key in SCRAPE_TIME_KEYS if (t := parse_utc(item.get(key)))]
    if own:
        return max(own).replace(microsecond=0), "items"   # by then every item had been seen
    if request.scraped_at:
        moment = parse_utc(request.scraped_at)
        if moment is None:
            raise ExportError(f"cannot read the scrape time {request.scraped_at!r} (SCRAPED_AT wants ISO-8601, "
                              "e.g. 2026-11-20T08:00:00Z)")
        return moment.replace(microsecond=0), "--scraped-at"
    return request.now, "now"


SCRAPE_TIME_WORDS = {"items": "the items' own scrape time", "--scraped-at": "SCRAPED_AT / --scraped-at",
                     "now": "now: the export carries no scrape time; pass SCRAPED_AT= for when it ran"}


# --- what the account already has -------------------------------------------------------------------
def items_digest(items: list) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def refusal(ws: Workspace, platform: str, account: str, scraped: datetime, digest: str) -> str | None:
    """Why this envelope must not be written: the account has this scrape time, or these items."""
    folder = ws.raw_path(platform, account, to_stamp(scraped)).parent
    for path in sorted([*folder.glob(f"*{RAW_SUFFIX}"), *folder.glob(f"*{COMPRESSED_SUFFIX}")]):
        try:
            envelope = read_json(path)
            when, items = parse_utc(envelope.get("scraped_at")), envelope.get("items")
        except (UnreadableJson, AttributeError):
            continue  # load reports a broken file; it holds nothing to compare with
        if when == scraped or raw_stamp(path) == to_stamp(scraped):
            return f"{path}: {account} ({platform}) already has an envelope scraped at {to_iso(scraped)}"
        if isinstance(items, list) and items_digest(items) == digest:
            return f"{path}: {account} ({platform}) already holds these {len(items)} items"
    return None


# --- the import -------------------------------------------------------------------------------------
def import_export(ws: Workspace, request: ImportRequest) -> Problems:
    problems = Problems("import")
    try:
        items, fmt = read_export(request.file)
        platform = request.platform or detect_platform(items)
        fields = owner_fields(load_settings(settings_path(ws)), platform)
    except (ExportError, SettingsError) as exc:
        problems.add(str(exc))
        return problems
    profiles = import_profiles(ws, platform, request.account, problems)
    if not profiles:
        return problems
    split = split_items(platform, items, fields, profiles)
    chosen = [p for p in profiles if request.account in (None, p.account)]
    report_unplaced(split, profiles, chosen)
    source = {"imported_from": Path(request.file).name, "format": fmt}
    written = sum(import_account(ws, platform, p, split.groups[p.account], source, request, problems)
                  for p in chosen)
    if written:
        print(f"import: {written} raw envelope(s) written under {ws.raw_dir}; run `make load` to load them")
    elif not problems.lines:
        problems.add(f"{request.file}: no item belongs to {_names(chosen)} ({platform}); nothing imported")
    return problems


def import_profiles(ws: Workspace, platform: str, account: str | None, problems: Problems) -> list[Profile]:
    """Every account's profile on the platform (scrape's list); [] with a problem if none fits."""
    configs, errors = load_accounts(ws)
    for line in errors:
        problems.add(line)
    profiles = profiles_by_platform(configs, problems, ws).get(platform, [])
    if account is not None and account not in {p.account for p in profiles}:
        problems.add(f"{ws.config_path(account)}: no platform_profiles.{platform}; nothing imported")
        return []
    if not profiles:
        problems.add(f"no account under {ws.accounts_dir} has platform_profiles.{platform}; nothing imported")
    return profiles


def _names(profiles: list[Profile]) -> str:
    return ", ".join(p.account for p in profiles)


def report_unplaced(split: Split, profiles: list[Profile], chosen: list[Profile]) -> None:
    """Counted, never written: items nobody we scrape owns, loose error items, and (ACCOUNT=) the
    other accounts' items."""
    for line in leftover_lines(split):
        print(f"import: warning: {line}", file=sys.stderr)
    others = {p.account: len(split.groups[p.account]) for p in profiles if p not in chosen}
    skipped = {account: n for account, n in others.items() if n}
    if skipped:
        listed = ", ".join(f"{account} {n}" for account, n in skipped.items())
        print(f"import: {sum(skipped.values())} item(s) of other accounts skipped ({listed}): ACCOUNT={_names(chosen)}")


def import_account(ws: Workspace, platform: str, profile: Profile, items: list[dict], source: dict,
                   request: ImportRequest, problems: Problems) -> bool:
    """The account's envelope from its items, unless it would overwrite or repeat what it has."""
    if not items:
        return False
    account = profile.account
    try:
        scraped, how = scrape_time(items, request)
    except ExportError as exc:
        problems.add(str(exc))
        return False
    if scraped > request.now:
        problems.add(f"{account} ({platform}): scrape time {to_iso(scraped)} is in the future; not imported")
        return False
    refused = refusal(ws, platform, account, scraped, items_digest(items))
    if refused:
        problems.add(f"{refused}; not imported, nothing overwritten")
        return False
    target = ws.compressed_raw_path(platform, account, to_stamp(scraped))
    try:
        write_json_gz_atomic(target, import_envelope(platform, account, items, scraped, {**source, "scraped_at_from": how}))
    except WriteFailed as exc:
        problems.add(str(exc))
        return False
    posts = len(post_ids(platform, [i for i in items if not is_record(platform, i)]))
    errors = sum(is_error(platform, i) for i in items)
    print(f"Imported {len(items)} items for {account} ({platform}): {posts} posts, {errors} error item(s) "
          f"-> {target.relative_to(ws.root)} (scraped_at {to_iso(scraped)}: {SCRAPE_TIME_WORDS[how]})")
    return True


def is_record(platform: str, item: dict) -> bool:
    """A profile record, not a post, by load's own rule (normalize.non_post)."""
    return non_post(platform, item) == PROFILE_RECORD


def import_envelope(platform: str, account: str, items: list[dict], scraped: datetime, source: dict) -> dict:
    """The SPEC envelope scrape writes, its profile read the same way; no run, so no run ids or cost."""
    record = next((i for i in items if is_record(platform, i)), None)
    posts = [i for i in items if not is_record(platform, i) and not is_error(platform, i)]
    return {"account": account, "platform": platform, "scraped_at": to_iso(scraped),
            "source": {"actor": None, "run_id": None, "dataset_id": None, "status": None,
                       "item_count": len(items), "usage_total_usd": None, "charged_events": None, **source},
            "profile": PROFILE_READERS[platform](posts, record), "items": items}
