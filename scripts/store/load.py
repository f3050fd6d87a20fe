"""make load: every raw envelope under data/raw/ into data/analytics.db.

One transaction per file; loading a file twice adds nothing; files already loaded and unchanged
(same size and mtime) are skipped without being read. A malformed file is reported with its
reason and moved to data/raw/_rejected/; the others still load and the step exits non-zero.
Only the account's own posts (by its configured handle) and collabs listing it are stored; every
other item of a file (error items, profile records, items without an id, other owners' posts) is
counted in the file's one line on stdout and in raw_files.not_stored, and a file with nothing
usable is rejected.
Files are read and normalized in worker processes while this one writes, in order.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import multiprocessing
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scripts.core.config import AccountConfig, load_accounts
from scripts.core.cpus import usable_cpus
from scripts.core.db import open_db
from scripts.core.files import UnreadableJson, gzip_isize, read_json
from scripts.sources.normalize import (ERROR_ITEM, NO_ID, PARTIAL, PROFILE_RECORD, SNAPSHOT_COLUMNS, ImpossibleValue,
                                       ItemsRead, NormalizedItem, handle, profile_row, read_items, snapshot_values)
from scripts.core.problems import Problems
from scripts.core.progress import progress
from scripts.core.schemas import Checker, schema_problem
from scripts.core.timeutil import STAMP_FORMAT, parse_stamp, parse_utc, to_iso, to_local, utc_now
from scripts.core.workspace import COMPRESSED_SUFFIX, RAW_SUFFIX, SCHEMA_DIR, Workspace, envelope_path, raw_stamp

ENVELOPE_SCHEMA = json.loads((SCHEMA_DIR / "raw_envelope.schema.json").read_text())
# checked first by the compiled schema: a tenth of jsonschema's time (scripts/core/schemas.py)
_checker = Checker(ENVELOPE_SCHEMA)


def _envelope_problem(shallow) -> str | None:
    return schema_problem(_checker, shallow, limit=200)


class RejectedFile(ValueError):
    pass


# how far a scrape or publishing time may lie ahead of the clock (or a post's publishing time
# ahead of its scrape) before it is taken for an error rather than clock skew
FUTURE_SKEW = timedelta(hours=1)


# why an item of a file is not stored, besides the non-posts normalize tells apart
FOREIGN = "owned by another account"
LATE = "published after the scrape"


@dataclass
class FileResult:
    account: str
    platform: str
    items: int
    new_posts: int
    skipped: Counter   # reason -> items of this file not stored
    duplicates: int
    line: str | None = None  # the file's report line, when it has more to say than "all stored"


def read_envelope(path: Path, ws: Workspace) -> dict:
    """Parse and check one envelope against the schema and against its own path."""
    try:  # no depth walk: load reads only the fields it knows, and the parsers cap the nesting
        envelope = read_json(path, max_depth=None)
    except UnreadableJson as exc:
        raise RejectedFile(str(exc)) from None
    items = envelope.get("items") if isinstance(envelope, dict) else None
    # The schema's walk over every item costs more than storing them, so the envelope is
    # checked without its items and the items' one rule (each is an object) is checked here.
    shallow = {**envelope, "items": []} if isinstance(items, list) else envelope
    problem = _envelope_problem(shallow)
    if problem:
        raise RejectedFile(problem)
    not_object = next((i for i, item in enumerate(items) if not isinstance(item, dict)), None)
    if not_object is not None:
        raise RejectedFile(f"items/{not_object}: {json.dumps(items[not_object])[:60]} is not of type 'object'")
    platform, account = path.parent.parent.name, path.parent.name
    if (envelope["platform"], envelope["account"]) != (platform, account):
        raise RejectedFile(f"envelope says {envelope['platform']}/{envelope['account']} "
                           f"but the file lies under {platform}/{account}")
    try:
        parse_stamp(raw_stamp(path))
    except ValueError:
        raise RejectedFile(f"file name is not a UTC stamp ({STAMP_FORMAT})") from None
    return envelope


def scrape_time(envelope: dict, now: datetime) -> datetime:
    """The envelope's scrape time, if it is a real moment that is not in the future."""
    scraped = parse_utc(envelope["scraped_at"])
    if scraped is None:
        raise RejectedFile(f"scraped_at: {envelope['scraped_at']!r} is not a real time")
    if scraped > now + FUTURE_SKEW:
        raise RejectedFile(f"scraped_at: {envelope['scraped_at']} is in the future (now {to_iso(now)})")
    return scraped


def _is_ours(item: NormalizedItem, our_handle: str, our_ids: set) -> bool:
    """Owned by our handle, or a collab listing it. An item that names no owner (older layouts)
    is ours unless something in it contradicts that: its owner id differs from the one our own
    items in the file carry. (TikTok items without authorMeta are read by webVideoUrl's @handle.)"""
    if item.owner is not None:
        return item.owner == our_handle or our_handle in item.coauthors
    return not (item.owner_id and our_ids and item.owner_id not in our_ids)


def owned_posts(read: ItemsRead, our_handle: str | None) -> list[NormalizedItem]:
    """The posts this account may store, each with is_collab set. Its own: the owner is its
    configured handle. A collab: another owner, with our handle among the co-authors; an own post
    with co-authors is one too (either way another account's audience saw it). With no handle
    configured, every post is kept (the file's line says so). Foreign posts are counted in read."""
    our_ids = {p.owner_id for p in read.posts if p.owner == our_handle and p.owner_id} if our_handle else set()
    kept = []
    for item in read.posts:
        if our_handle is not None and not _is_ours(item, our_handle, our_ids):
            read.skipped[FOREIGN] += 1
            owner = item.owner or f"owner id {item.owner_id}"
            read.examples.setdefault(FOREIGN, f"{item.post['post_id']} by {owner}")
            continue
        foreign_owner = bool(item.owner and our_handle and item.owner != our_handle)
        item.post["is_collab"] = int(foreign_owner or bool(item.coauthors - {item.owner, our_handle}))
        kept.append(item)
    return kept


SINGULAR = {ERROR_ITEM: "error item", PROFILE_RECORD: "profile record", NO_ID: "item without an id"}


def counted(n: int, reason: str) -> str:
    """'1 error item', '2 error items', '1 published after the scrape'."""
    return f"{n} {SINGULAR.get(reason, reason) if n == 1 else reason}"


def _error_codes(read: ItemsRead) -> str:
    return ", ".join(f"{code} x{n}" for code, n in read.errors.items())


def not_stored_text(read: ItemsRead) -> str:
    """'2 error items (not_found x2), 3 owned by another account (e.g. DcAOmP6yK2w by crunchmate.id)'."""
    parts = []
    for reason, n in read.skipped.items():
        if not n:
            continue
        if reason == ERROR_ITEM:
            parts.append(f"{counted(n, reason)} ({_error_codes(read)})")
        else:
            example = read.examples.get(reason)
            parts.append(counted(n, reason) + (f" (e.g. {example})" if example else ""))
    return ", ".join(parts)


def nothing_usable(read: ItemsRead) -> str:
    """The rejection of a file that holds no post and no profile counts."""
    if not +read.skipped:
        return "nothing usable: no items and no profile"
    if set(+read.skipped) == {ERROR_ITEM}:
        return f"nothing usable: only error items ({_error_codes(read)})"
    return f"nothing usable (no post, no profile): {not_stored_text(read)}"


def merged_text(n: int) -> str:
    return f"{n} duplicate listing{'' if n == 1 else 's'} merged"


def report_line(rel: str, items: int, posts: int, read: ItemsRead, note: str | None) -> str | None:
    """The file's one line (stdout): every item not stored, by reason, and what was merged. None for
    a file whose items were all stored (a post listed twice, pinned and latest, is normal: the
    account's summary line counts those merges)."""
    flagged = f"{read.partial} flagged {PARTIAL} (stored; what they lack is NULL with its reason)"
    if not (+read.skipped or read.partial or note):
        return None
    parts = [f"not stored: {not_stored_text(read)}"] if +read.skipped else []
    parts += [merged_text(read.duplicates)] if read.duplicates else []
    parts += [flagged] if read.partial else []
    parts += [note] if note else []
    return f"{rel}: {items} items, {posts} posts; " + "; ".join(parts)


def profile_counts(envelope: dict, read: ItemsRead, our_handle: str | None) -> dict | None:
    """The profile_snapshots counters: the envelope's own (scrape wrote them), else those of a
    profile record among the items that is this account's."""
    if envelope.get("profile") is not None:
        try:
            return profile_row(envelope["profile"])
        except ImpossibleValue as exc:
            raise RejectedFile(f"profile: {exc}") from None
    return next((counts for owner, counts in read.profiles if our_handle is None or owner in (None, our_handle)),
                None)


# SQLite's limit on the parameters of one statement is 32,766; a file may list more posts
IDS_PER_STATEMENT = 500


def _chunks(values: list, size: int = IDS_PER_STATEMENT) -> Iterator[list]:
    return (values[i:i + size] for i in range(0, len(values), size))


# the platform facts the newest scrape refreshes when it has them (never to NULL; an older file
# loaded later only fills what is unknown), and those that follow the latest scrape whatever it
# says (pins and co-authors come and go)
REFRESHED = ("post_url", "caption", "media_type", "media_slide_count", "owner_username", "duration_s",
             "music_id", "music_name", "music_original", "hashtags", "product_type", "is_ad", "is_sponsored",
             "published_local")
LATEST = ("is_pinned", "is_collab")
POST_COLUMNS = ("account_name", "platform", "post_id") + REFRESHED + LATEST + ("published_at",)
# A prepared post row (PreparedFile.posts) is a tuple: POST_COLUMNS, then the scrape time. Tuples, not
# dicts: they cross the pipe from the preparing worker, and SQLite binds them by position.
POST_ROW = POST_COLUMNS + ("seen",)
NEWER = "excluded.last_seen_at >= coalesce(last_seen_at, '')"
# what the file's transaction needs to know of a post already stored
STORED_COLUMNS = ("post_id", "account_name", "platform", "published_at", "first_seen_at", "last_seen_at") \
    + REFRESHED + LATEST
# where the parts of the two sit in their tuples
_ID, _PUBLISHED, _SEEN = POST_ROW.index("post_id"), POST_ROW.index("published_at"), POST_ROW.index("seen")
_FACTS = slice(POST_ROW.index(REFRESHED[0]), POST_ROW.index(LATEST[-1]) + 1)                 # REFRESHED + LATEST
_REFRESHED = slice(_FACTS.start, _FACTS.start + len(REFRESHED))
_LATEST = slice(_REFRESHED.stop, _FACTS.stop)
_OLD_FACTS = slice(STORED_COLUMNS.index(REFRESHED[0]), STORED_COLUMNS.index(LATEST[-1]) + 1)
_OLD_REFRESHED = slice(_OLD_FACTS.start, _OLD_FACTS.start + len(REFRESHED))
_OLD_LATEST = slice(_OLD_REFRESHED.stop, _OLD_FACTS.stop)
_OLD_OWNER = slice(1, 3)
_OLD_PUBLISHED, _OLD_FIRST_SEEN, _OLD_LAST_SEEN = 3, 4, 5
assert POST_ROW[_FACTS] == STORED_COLUMNS[_OLD_FACTS] == REFRESHED + LATEST
assert STORED_COLUMNS[_OLD_OWNER] == ("account_name", "platform")
assert STORED_COLUMNS[3:6] == ("published_at", "first_seen_at", "last_seen_at")


def _stored(conn, post_ids: list[str]) -> dict[str, tuple]:
    """The stored posts among post_ids: post_id -> STORED_COLUMNS."""
    stored = {}
    for chunk in _chunks(post_ids):
        rows = conn.execute(f"SELECT {', '.join(STORED_COLUMNS)} FROM posts WHERE post_id IN "
                            f"({','.join('?' * len(chunk))})", chunk)
        stored.update((row[0], row) for row in rows)
    return stored


def _changes(row: tuple, old: tuple) -> bool:
    """Whether the newest file's upsert would change this stored post beyond last_seen_at: a fact
    it refreshes, one that follows the latest scrape, or a publishing time it fills in."""
    if row[_FACTS] != old[_OLD_FACTS]:  # mostly equal (one comparison of the tuples); else which differ
        if any(new is not None and new != was for new, was in zip(row[_REFRESHED], old[_OLD_REFRESHED])) \
                or row[_LATEST] != old[_OLD_LATEST]:
            return True
    return ((old[_OLD_PUBLISHED] is None and row[_PUBLISHED] is not None)
            or old[_OLD_FIRST_SEEN] is None or old[_OLD_LAST_SEEN] is None)


def _upsert_sql(file_is_newest: bool) -> str:
    """The posts upsert. Files mostly come newest last, and then every fact simply refreshes; the
    per-row comparison with the stored scrape time (a quarter of load's time) is only for a file
    older than what is stored. Parameters by position: a POST_ROW, whose scrape time is both the
    first and the last time seen."""
    def refreshed(c: str) -> str:
        newest = f"coalesce(excluded.{c}, {c})"
        return newest if file_is_newest else f"CASE WHEN {NEWER} THEN {newest} ELSE coalesce({c}, excluded.{c}) END"

    def latest(c: str) -> str:
        return f"excluded.{c}" if file_is_newest else f"CASE WHEN {NEWER} THEN excluded.{c} ELSE {c} END"
    return f"""
    INSERT INTO posts ({", ".join(POST_COLUMNS)}, first_seen_at, last_seen_at)
    VALUES ({", ".join(f"?{i}" for i in range(1, len(POST_ROW) + 1))}, ?{len(POST_ROW)})
    ON CONFLICT (post_id) DO UPDATE SET
        {"".join(f"{c} = {refreshed(c)}, " for c in REFRESHED)}
        {"".join(f"{c} = {latest(c)}, " for c in LATEST)}
        published_at = coalesce(published_at, excluded.published_at),
        first_seen_at = min(coalesce(first_seen_at, excluded.first_seen_at), excluded.first_seen_at),
        last_seen_at = max(coalesce(last_seen_at, excluded.last_seen_at), excluded.last_seen_at)
"""


UPSERT_POSTS = {newest: _upsert_sql(newest) for newest in (True, False)}


def _upsert_posts(conn, rows: list[tuple], stored: dict[str, tuple]) -> int:
    """Insert new posts; refresh the platform facts of known ones (stored: as they are). Never
    touches backfill's columns, and a post missing from one scrape is not updated (never deleted).
    A daily file mostly lists posts seen the day before, unchanged but for their counters (which
    go to metrics_snapshots): for those, one statement moves last_seen_at, and the upsert, which
    rewrites the row and its index entries, is left to the posts that are new or changed."""
    newest_stored = max((old[_OLD_LAST_SEEN] for old in stored.values() if old[_OLD_LAST_SEEN]), default=None)
    if not rows or newest_stored is None or rows[0][_SEEN] >= newest_stored:
        upserted, seen_again = [], []
        for row in rows:
            old = stored.get(row[_ID])
            if old is None or _changes(row, old):
                upserted.append(row)
            elif row[_SEEN] > old[_OLD_LAST_SEEN]:
                seen_again.append(row[_ID])
        conn.executemany(UPSERT_POSTS[True], upserted)
        for chunk in _chunks(seen_again):
            conn.execute(f"UPDATE posts SET last_seen_at = ? WHERE post_id IN ({','.join('?' * len(chunk))})",
                         [rows[0][_SEEN], *chunk])
    else:
        conn.executemany(UPSERT_POSTS[False], rows)
    return len({r[_ID] for r in rows} - set(stored))


@lru_cache(maxsize=64)
def _replace_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def _replace_row(conn, table: str, row: dict) -> None:
    """Insert one complete row, replacing the row with the same primary key. Plain SQL: sqlite-utils'
    upsert reads the table's schema on every call, which costs more than the file's own inserts."""
    conn.execute(_replace_sql(table, tuple(row)), row)


@dataclass
class PreparedFile:
    """One envelope read, checked and normalized: every row its transaction writes, except what
    only the database knows (which posts are new)."""
    account: str
    platform: str
    item_count: int
    posts: list[tuple]            # the posts rows, POST_ROW each
    snaps: list[tuple]            # the metrics_snapshots rows, SNAPSHOT_COLUMNS each
    profile: dict | None          # the profile_snapshots row, if the envelope has a profile
    scrape_run: dict              # the scrape_runs row but new_posts
    raw_file: dict                # the raw_files row but loaded_at
    skipped: Counter
    duplicates: int
    line: str | None = None       # the file's report line (report_line)

    @property
    def post_rows(self) -> list[dict]:
        return [dict(zip(POST_ROW, row)) for row in self.posts]

    @property
    def snapshots(self) -> list[dict]:
        return [dict(zip(SNAPSHOT_COLUMNS, row)) for row in self.snaps]


def stored_posts(read: ItemsRead, our_handle: str | None, scraped: datetime) -> list[NormalizedItem]:
    """The file's posts that are stored: this account's (owned_posts), published before the scrape."""
    posts = owned_posts(read, our_handle)
    on_time = [p for p in posts if not (p.published and p.published > scraped + FUTURE_SKEW)]
    read.skipped[LATE] += len(posts) - len(on_time)
    return on_time


# a normalized post's facts in POST_ROW order (published_local and published_at are load's)
_post_facts = itemgetter("post_id", *REFRESHED[:-1])
_post_latest = itemgetter(*LATEST)
assert REFRESHED[-1] == "published_local" and POST_ROW[3 + len(REFRESHED) + len(LATEST)] == "published_at"


def _has_counts(profile: dict | None) -> bool:
    return profile is not None and any(v is not None for v in profile.values())


def prepare_file(ws: Workspace, path: Path, tz, now: datetime | None = None,
                 our_handle: str | None = None) -> PreparedFile:
    """Read, check and normalize one envelope; no database needed (raises RejectedFile). our_handle
    is the account's configured handle on the file's platform: only its posts (and collabs that
    list it) are stored."""
    envelope = read_envelope(path, ws)
    account, platform = envelope["account"], envelope["platform"]
    scraped = scrape_time(envelope, now or utc_now())
    try:
        read = read_items(platform, envelope["items"])
    except ImpossibleValue as exc:
        raise RejectedFile(str(exc)) from None
    our_handle = handle(our_handle)
    profile = profile_counts(envelope, read, our_handle)
    items = stored_posts(read, our_handle, scraped)
    if not items and not _has_counts(profile):
        raise RejectedFile(nothing_usable(read))
    rel = str(path.relative_to(ws.root))  # the file, in the report line
    name = str(envelope_path(path).relative_to(ws.root))  # the envelope, in the database (plain or gzipped)
    seen = to_iso(scraped)
    posts = []
    for item in items:
        post, published = item.post, item.published
        posts.append((account, platform, *_post_facts(post), to_local(published, tz) if published else None,
                      *_post_latest(post), to_iso(published) if published else None, seen))
    source = envelope.get("source") or {}
    stat = path.stat()
    where = {"account_name": account, "platform": platform, "scraped_at": seen}
    skipped = +read.skipped
    note = None if our_handle else f"no {platform} handle configured for {account}, so owners were not checked"
    followers = profile["followers"] if profile else None
    return PreparedFile(
        account=account, platform=platform, item_count=len(envelope["items"]),
        posts=posts, snaps=[snapshot_values(item, scraped, followers, name) for item in items],
        profile={**where, **profile} if profile is not None else None,
        scrape_run={"raw_file": name, **where, "actor": source.get("actor"), "run_id": source.get("run_id"),
                    "dataset_id": source.get("dataset_id"), "status": source.get("status"),
                    "item_count": len(envelope["items"]), "usage_total_usd": source.get("usage_total_usd"),
                    "charged_events": json.dumps(source.get("charged_events")) if source.get("charged_events")
                    else None},
        raw_file={"path": name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **where,
                  "item_count": len(envelope["items"]), "not_stored": json.dumps(skipped) if skipped else None},
        skipped=skipped, duplicates=read.duplicates,
        line=report_line(rel, len(envelope["items"]), len(items), read, note))


def store_file(db, file: PreparedFile) -> FileResult:
    """Write one prepared envelope in one transaction (raises RejectedFile before writing anything
    if its items are another account's posts). db: the database (or its sqlite3 connection)."""
    conn = getattr(db, "conn", db)
    stored = _stored(conn, [row[_ID] for row in file.posts])
    ours = (file.account, file.platform)
    foreign = {pid for pid, old in stored.items() if old[_OLD_OWNER] != ours}
    if foreign:  # an envelope may never write metrics onto another account's post
        raise RejectedFile(f"{len(foreign)} item(s) belong to another account's posts "
                           f"(e.g. {sorted(foreign)[0]})")
    clash = conn.execute("SELECT path FROM raw_files WHERE account_name = ? AND platform = ? AND scraped_at = ? "
                         "AND path != ?", [file.account, file.platform, file.raw_file["scraped_at"],
                                           file.raw_file["path"]]).fetchone()
    if clash:  # a second file for one scrape would be merged over the rows the first one stored
        raise RejectedFile(f"the same scrape time ({file.raw_file['scraped_at']}) as {clash[0]}, already loaded")
    try:
        return _store(conn, file, stored)
    except (OverflowError, sqlite3.IntegrityError, sqlite3.InterfaceError) as exc:  # rolled back
        raise RejectedFile(f"a value SQLite cannot store ({exc})") from None


INSERT_SNAPSHOTS = (f"INSERT OR IGNORE INTO metrics_snapshots ({', '.join(SNAPSHOT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(SNAPSHOT_COLUMNS))})")
# metrics_at_age (sql/tables/metrics_snapshots.sql) from the snapshots this transaction inserted (ids
# above the largest before it; an ignored duplicate gets none): for each age whose window holds one,
# it takes the age's row unless an earlier snapshot holds it. One statement per file, where a trigger
# ran once per snapshot. A file lists each post once, so each (post, age) is decided once per file.
AT_AGE_COLUMNS = ("post_id", "age_day", "scraped_at", "age_hours", "views", "plays", "likes", "comments", "shares",
                  "saves", "engagement_rate", "follower_rate")
LAST_SNAPSHOT_ID = "SELECT coalesce(max(id), 0) FROM metrics_snapshots"
AT_AGE_FROM_NEW_SNAPSHOTS = f"""
INSERT INTO metrics_at_age ({", ".join(AT_AGE_COLUMNS)})
SELECT {", ".join("a.age_day" if c == "age_day" else "s." + c for c in AT_AGE_COLUMNS)}
FROM metrics_snapshots s JOIN metric_ages a ON s.age_hours >= a.age_day * 24 AND s.age_hours < a.age_day * 24 + 36
WHERE s.id > ?
ON CONFLICT (post_id, age_day) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in AT_AGE_COLUMNS[2:])}
WHERE excluded.age_hours < metrics_at_age.age_hours
"""


def _store(conn, file: PreparedFile, stored: dict[str, tuple]) -> FileResult:
    with conn:  # one transaction per file: all of it or none of it
        new_posts = _upsert_posts(conn, file.posts, stored)
        last_id = conn.execute(LAST_SNAPSHOT_ID).fetchone()[0]
        conn.executemany(INSERT_SNAPSHOTS, file.snaps)
        conn.execute(AT_AGE_FROM_NEW_SNAPSHOTS, [last_id])
        if file.profile is not None:
            _replace_row(conn, "profile_snapshots", file.profile)
        # a file read again (touched, load --full) keeps the count of posts it brought the first time
        first = conn.execute("SELECT new_posts FROM scrape_runs WHERE raw_file = ?",
                             [file.raw_file["path"]]).fetchone()
        _replace_row(conn, "scrape_runs", {**file.scrape_run, "new_posts": first[0] if first else new_posts})
        _replace_row(conn, "raw_files", {**file.raw_file, "loaded_at": to_iso(utc_now())})
    return FileResult(file.account, file.platform, file.item_count, new_posts, file.skipped, file.duplicates,
                      file.line)


def _prepare(ws: Workspace, path: Path, configs: dict[str, AccountConfig]) -> PreparedFile | RejectedFile:
    """prepare_file, with a rejection returned instead of raised (so results stay in order). Any
    value a file can hold is accepted or that file's rejection: a case no check above foresaw is
    a rejection with its reason too, never a traceback that stops the files after it."""
    try:
        config = configs.get(path.parent.name)  # an account without a (valid) config: UTC, owners unchecked
        return prepare_file(ws, path, config.tz if config else timezone.utc,
                            our_handle=config.platform_profiles.get(path.parent.parent.name) if config else None)
    except RejectedFile as exc:
        return exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        return RejectedFile(f"unexpected content ({type(exc).__name__}: {str(exc)[:120]})")


def _prepare_into(pipe, inherited: list, ws: Workspace, paths: list[Path], configs: dict) -> None:
    """A preparing worker: each of its files prepared, in order, sent down the pipe."""
    for receiver in inherited:  # only the writer may hold a read end: if it dies, send() must fail
        receiver.close()
    try:
        for path in paths:
            pipe.send(_prepare(ws, path, configs))
    except BrokenPipeError:  # the writer stopped early (it failed or was killed): nothing more to do
        pass
    except Exception as exc:  # a bug, not a bad file: the writer raises it
        pipe.send(exc)
    finally:
        pipe.close()


# How much a worker's pipe holds: a prepared file pickles to 10-20 KB, so Linux's default 64 KiB let a
# worker run only a few files ahead, and on a busy machine the writer and the workers kept waiting for
# each other (each waiting process gives up its turn on a CPU). A mebibyte holds some sixty files, and
# is the most an unprivileged process may ask for (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


def _widen(connection) -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or over the user's pipe quota: as it is
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _received(pipe) -> PreparedFile | RejectedFile:
    item = pipe.recv()
    if isinstance(item, Exception) and not isinstance(item, RejectedFile):
        raise item
    return item


@contextlib.contextmanager
def file_preparer(ws: Workspace, paths: list[Path], configs: dict) -> Iterator[Iterator[PreparedFile | RejectedFile]]:
    """The paths' prepared files (or rejections), in order. Reading, checking and normalizing take
    two fifths of a file's time and need no database, so with more than one CPU, forked workers
    prepare the next files while this process stores the current one: worker k takes every n-th
    file from the k-th, and its pipe holds only a few files, so memory stays flat. Plain pipes, not
    a multiprocessing.Pool, whose helper threads contend with the writer for the GIL (the writer
    took half as long again). Open the database inside the block: the workers are forked when it
    starts, and an SQLite connection must not cross a fork."""
    workers = min(usable_cpus() - 1, len(paths))  # one CPU stays with the writer
    if workers < 1:
        yield (_prepare(ws, path, configs) for path in paths)
        return
    context = multiprocessing.get_context("fork")
    pipes, processes = [], []
    for k in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        _widen(sender)
        pipes.append(receiver)
        process = context.Process(target=_prepare_into, args=(sender, pipes[:], ws, paths[k::workers], configs),
                                  daemon=True)
        process.start()
        sender.close()  # the worker's end: once it exits, a read here ends instead of waiting
        processes.append(process)
    try:
        yield (_received(pipes[i % workers]) for i in range(len(paths)))
    finally:
        for process in processes:
            process.terminate()
            process.join()
        for receiver in pipes:
            receiver.close()


def reject(ws: Workspace, path: Path, reason: str) -> Path:
    """Move a bad file aside (keeping its layout) with its reason beside it; never delete it."""
    target = ws.rejected_dir / path.relative_to(ws.raw_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), target)
    target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def unchanged_files(db) -> dict[str, tuple[int, int]]:
    return {r["path"]: (r["size"], r["mtime_ns"]) for r in db["raw_files"].rows}


def is_unchanged(path: Path, name: str, known: dict, compressed: list | None = None) -> bool:
    """Whether the envelope recorded under name (raw_files.path) is this file, as loaded: the same
    size and modification time. Or the same file gzipped since (make compress-raw, or gzip(1)):
    both keep the modification time, and the gzip file records the size it had; then
    (name, new size) is added to compressed, so the database learns the new size."""
    try:
        stat = path.stat()
    except OSError:  # a dangling or looping symlink: reading it makes the rejection
        return False
    recorded = known.get(name)
    if recorded is None:
        return False
    if recorded == (stat.st_size, stat.st_mtime_ns):
        return True
    if path.name.endswith(COMPRESSED_SUFFIX) and recorded[1] == stat.st_mtime_ns \
            and gzip_isize(path) == recorded[0] % 2**32:
        if compressed is not None:
            compressed.append((name, stat.st_size))
        return True
    return False


def record_compressed(db, compressed: list[tuple[str, int]]) -> None:
    """The new sizes of envelopes gzipped since they were loaded, in one transaction."""
    if compressed:
        with db.conn:
            db.conn.executemany("UPDATE raw_files SET size = ? WHERE path = ?",
                                [(size, name) for name, size in compressed])


def refresh_local_times(db, configs: dict) -> list[str]:
    """Recompute published_local for every account whose configured timezone differs from the one
    its local times were computed in (the raw files are unchanged, so nothing else would redo it).
    One transaction per account; the accounts whose times changed."""
    done = dict(db.execute("SELECT account_name, timezone FROM account_timezones").fetchall())
    changed = []
    for account, config in sorted(configs.items()):
        if done.get(account) == config.timezone:
            continue
        rows = db.execute("SELECT rowid, published_at FROM posts WHERE account_name = ? "
                          "AND published_at IS NOT NULL", [account]).fetchall()
        with db.conn:
            db.conn.executemany("UPDATE posts SET published_local = ? WHERE rowid = ?",
                                [(to_local(parse_utc(at), config.tz), rowid) for rowid, at in rows])
            db.execute("INSERT OR REPLACE INTO account_timezones VALUES (?, ?)", [account, config.timezone])
        if account in done:
            changed.append(account)
    return changed


def report_quarantined(ws: Workspace, problems: Problems) -> None:
    """Files an earlier run moved to data/raw/_rejected/ stay a problem until someone fixes or
    deletes them: their data is missing from the database meanwhile."""
    quarantined = [*ws.rejected_dir.glob(f"*/*/*{RAW_SUFFIX}"), *ws.rejected_dir.glob(f"*/*/*{COMPRESSED_SUFFIX}")]
    for path in sorted(quarantined):
        reason_file = path.with_suffix(".reason.txt")
        reason = reason_file.read_text(encoding="utf-8").strip() if reason_file.is_file() else "no reason kept"
        problems.add(f"{path.relative_to(ws.root)}: rejected earlier ({reason}); fix it and move it back "
                     f"to {path.parent.relative_to(ws.rejected_dir)}/ under data/raw/, or delete it")


@dataclass
class LoadTotals:
    loaded: int = 0
    items: Counter = field(default_factory=Counter)       # (account, platform) -> items read
    new_posts: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)  # listings merged into a post listed before
    skipped: dict = field(default_factory=dict)           # (account, platform) -> Counter of reasons
    file_lines: list = field(default_factory=list)        # each file's report line, where it has one

    def add(self, result: FileResult) -> None:
        key = (result.account, result.platform)
        self.loaded += 1
        self.items[key] += result.items
        self.new_posts[key] += result.new_posts
        self.duplicates[key] += result.duplicates
        self.skipped.setdefault(key, Counter()).update(result.skipped)
        if result.line:
            self.file_lines.append(result.line)

    def lines(self) -> list[str]:
        """One line per file with items not stored (report_line), then one per account and platform."""
        lines = list(self.file_lines)
        for key, items in sorted(self.items.items()):
            skipped = self.skipped.get(key) or Counter()
            why = "; ".join(counted(n, reason) for reason, n in sorted(skipped.items()) if n)
            lines.append(f"Loaded {items} items for {key[0]} ({key[1]}), {self.new_posts[key]} new posts"
                         + (f", {sum(skipped.values())} items skipped ({why})" if why else "")
                         + (f", {merged_text(self.duplicates[key])}" if self.duplicates[key] else ""))
        return lines


# The writer's connection: each file's transaction dirties some sixty pages spread over the posts,
# the snapshots' index and the small tables, and commits them to the write-ahead log. A 64 MiB page
# cache keeps the indexes' inner pages in memory, and a checkpoint every 10,000 pages (40 MiB of
# log, not SQLite's 1,000) copies a page rewritten by many files back into the database once, not
# each time: together a quarter fewer bytes written and a fifth less of the writer's time
# (docs/bench.md). Fixed sizes, so memory stays flat however large the workspace.
WRITER_PRAGMAS = ("cache_size = -65536", "wal_autocheckpoint = 10000")


def store_all(ws: Workspace, db_path: Path, todo: list[Path], configs: dict, problems: Problems,
              quiet: bool = False) -> LoadTotals:
    """Prepare and store every file in order, one transaction each; a bad file is moved aside."""
    totals = LoadTotals()
    gc.freeze()  # what is loaded so far (modules, configs) lives as long as the step: no collection need look at it
    with file_preparer(ws, todo, configs) as prepared, progress(len(todo), "load: raw files", quiet) as bar:
        db = open_db(db_path, schema=False)
        for pragma in WRITER_PRAGMAS:
            db.conn.execute(f"PRAGMA {pragma}")
        for path, file in zip(todo, prepared):
            try:
                if isinstance(file, RejectedFile):
                    raise file
                totals.add(store_file(db, file))
            except RejectedFile as exc:
                rel = path.relative_to(ws.root)
                problems.add(f"{rel}: {exc}; moved to {reject(ws, path, str(exc)).relative_to(ws.root)}")
            bar.advance()
        db.conn.close()
    return totals


def same_file(path: Path, inode: int) -> bool:
    try:
        return path.stat().st_ino == inode
    except FileNotFoundError:
        return False


def load_workspace(ws: Workspace, full: bool = False, quiet: bool = False, db_path: Path | None = None) -> Problems:
    """Load every new or changed raw file into db_path (the workspace's database by default)."""
    db_path = db_path or ws.db_path
    problems = Problems("load")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    report_quarantined(ws, problems)
    db = open_db(db_path)
    inode = db_path.stat().st_ino
    known = {} if full else unchanged_files(db)
    compressed: list[tuple[str, int]] = []
    todo = [path for path in ws.raw_files()
            if not is_unchanged(path, str(envelope_path(path).relative_to(ws.root)), known, compressed)]
    record_compressed(db, compressed)
    db.conn.close()  # reopened once the preparing workers exist (see file_preparer)
    totals = store_all(ws, db_path, todo, configs, problems, quiet)
    retimed = []
    if same_file(db_path, inode):
        db = open_db(db_path, schema=False)
        retimed = refresh_local_times(db, configs)
        db.conn.close()
    else:  # what was written went into a file that is gone
        problems.add(f"{db_path}: deleted or replaced while load ran, so this run's work is not in it; "
                     "run make load again")
    if not quiet:
        print("\n".join(totals.lines() + [f"Recomputed local posting times for {a} (its timezone changed)"
                                           for a in retimed]
                         + [f"load: {totals.loaded} new or changed raw files loaded into {db_path}"]))
    return problems


def rebuild_workspace(ws: Workspace, quiet: bool = False) -> Problems:
    """make reload: load every raw file into a new database beside the old one, then copy it into
    the old file in place (SQLite's backup API), so a reader that has it open, such as Datasette,
    sees the rebuilt data, and a rebuild that fails half-way leaves the old database as it was."""
    fresh = ws.data_dir / ".analytics.db.rebuild"
    for leftover in (fresh, fresh.with_name(fresh.name + "-wal"), fresh.with_name(fresh.name + "-shm")):
        leftover.unlink(missing_ok=True)
    problems = load_workspace(ws, full=True, quiet=quiet, db_path=fresh)
    with contextlib.closing(sqlite3.connect(fresh)) as source, \
            contextlib.closing(sqlite3.connect(ws.db_path, timeout=30)) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode = WAL")
    for leftover in (fresh, fresh.with_name(fresh.name + "-wal"), fresh.with_name(fresh.name + "-shm")):
        leftover.unlink(missing_ok=True)
    if not quiet:
        print(f"load: rebuilt {ws.db_path} from {ws.raw_dir}")
    return problems
