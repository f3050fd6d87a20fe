"""make load: every raw envelope under data/raw/ into data/analytics.db.

One transaction per file; loading a file twice adds nothing; files already loaded and unchanged
(same size and mtime) are skipped without being read. A malformed file is reported with its
reason and moved to data/raw/_rejected/; the others still load and the step exits non-zero.
Files are read and normalized in worker processes while this one writes, in order.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

import jsonschema

from scripts.core.config import load_accounts
from scripts.core.cpus import usable_cpus
from scripts.core.db import open_db
from scripts.core.files import UnreadableJson, read_json
from scripts.sources.normalize import NORMALIZERS, dedupe, profile_row, snapshot_row
from scripts.core.problems import Problems
from scripts.core.schemas import schema_problem
from scripts.core.timeutil import STAMP_FORMAT, parse_stamp, parse_utc, to_iso, to_local, utc_now
from scripts.core.workspace import SCHEMA_DIR, Workspace

ENVELOPE_SCHEMA = json.loads((SCHEMA_DIR / "raw_envelope.schema.json").read_text())
_validator = jsonschema.Draft202012Validator(ENVELOPE_SCHEMA)


class RejectedFile(ValueError):
    pass


@dataclass
class FileResult:
    account: str
    platform: str
    items: int
    new_posts: int
    skipped_items: int
    duplicates: int


def read_envelope(path: Path, ws: Workspace) -> dict:
    """Parse and check one envelope against the schema and against its own path."""
    try:
        envelope = read_json(path)
    except UnreadableJson as exc:
        raise RejectedFile(str(exc)) from None
    items = envelope.get("items") if isinstance(envelope, dict) else None
    # The schema's walk over every item costs more than storing them, so the envelope is
    # checked without its items and the items' one rule (each is an object) is checked here.
    shallow = {**envelope, "items": []} if isinstance(items, list) else envelope
    problem = schema_problem(_validator, shallow, limit=200)
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
        parse_stamp(path.stem)
    except ValueError:
        raise RejectedFile(f"file name is not a UTC stamp ({STAMP_FORMAT})") from None
    return envelope


def _owners(db, post_ids: list[str]) -> dict[str, tuple[str, str]]:
    """post_id -> (account, platform) for the posts already stored."""
    if not post_ids:
        return {}
    rows = db.execute(f"SELECT post_id, account_name, platform FROM posts WHERE post_id IN "
                      f"({','.join('?' * len(post_ids))})", post_ids)
    return {r[0]: (r[1], r[2]) for r in rows}


def _upsert_posts(db, rows: list[dict], existing: dict) -> int:
    """Insert new posts; refresh the platform facts of known ones (existing: their owners). Never
    touches backfill's columns, and a post missing from one scrape is not updated (never deleted)."""
    db.conn.executemany("""
        INSERT INTO posts (account_name, platform, post_id, post_url, caption, media_type,
                           media_slide_count, is_pinned, published_at, published_local,
                           first_seen_at, last_seen_at)
        VALUES (:account_name, :platform, :post_id, :post_url, :caption, :media_type,
                :media_slide_count, :is_pinned, :published_at, :published_local, :seen, :seen)
        ON CONFLICT (post_id) DO UPDATE SET
            post_url = coalesce(excluded.post_url, post_url),
            caption = coalesce(excluded.caption, caption),
            media_type = coalesce(excluded.media_type, media_type),
            media_slide_count = coalesce(excluded.media_slide_count, media_slide_count),
            published_at = coalesce(published_at, excluded.published_at),
            published_local = coalesce(excluded.published_local, published_local),
            is_pinned = CASE WHEN excluded.last_seen_at >= coalesce(last_seen_at, '')
                             THEN excluded.is_pinned ELSE is_pinned END,
            first_seen_at = min(coalesce(first_seen_at, excluded.first_seen_at), excluded.first_seen_at),
            last_seen_at = max(coalesce(last_seen_at, excluded.last_seen_at), excluded.last_seen_at)
    """, rows)
    return len({r["post_id"] for r in rows} - set(existing))


def _replace_row(db, table: str, row: dict) -> None:
    """Insert one complete row, replacing the row with the same primary key. Plain SQL: sqlite-utils'
    upsert reads the table's schema on every call, which costs more than the file's own inserts."""
    columns = ", ".join(row)
    db.conn.execute(f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})", row)


@dataclass
class PreparedFile:
    """One envelope read, checked and normalized: every row its transaction writes, except what
    only the database knows (which posts are new)."""
    account: str
    platform: str
    item_count: int
    post_rows: list[dict]
    snapshots: list[dict]
    profile: dict | None          # the profile_snapshots row, if the envelope has a profile
    scrape_run: dict              # the scrape_runs row but new_posts
    raw_file: dict                # the raw_files row but loaded_at
    skipped_items: int
    duplicates: int


def prepare_file(ws: Workspace, path: Path, tz) -> PreparedFile:
    """Read, check and normalize one envelope; no database needed (raises RejectedFile)."""
    envelope = read_envelope(path, ws)
    account, platform = envelope["account"], envelope["platform"]
    scraped = parse_utc(envelope["scraped_at"])
    normalize = NORMALIZERS[platform]
    parsed = [normalize(item) for item in envelope["items"]]
    items, duplicates = dedupe([p for p in parsed if p is not None])
    profile = profile_row(envelope.get("profile"))
    rel = str(path.relative_to(ws.root))
    seen = to_iso(scraped)
    post_rows = [{**item.post, "account_name": account, "platform": platform, "seen": seen,
                  "published_at": to_iso(item.published) if item.published else None,
                  "published_local": to_local(item.published, tz) if item.published else None}
                 for item in items]
    source = envelope.get("source") or {}
    stat = path.stat()
    where = {"account_name": account, "platform": platform, "scraped_at": seen}
    return PreparedFile(
        account=account, platform=platform, item_count=len(envelope["items"]),
        post_rows=post_rows, snapshots=[snapshot_row(item, scraped, profile["followers"], rel) for item in items],
        profile={**where, **profile} if envelope.get("profile") is not None else None,
        scrape_run={"raw_file": rel, **where, "actor": source.get("actor"), "run_id": source.get("run_id"),
                    "dataset_id": source.get("dataset_id"), "status": source.get("status"),
                    "item_count": len(envelope["items"]), "usage_total_usd": source.get("usage_total_usd"),
                    "charged_events": json.dumps(source.get("charged_events")) if source.get("charged_events")
                    else None},
        raw_file={"path": rel, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **where,
                  "item_count": len(envelope["items"])},
        skipped_items=len(parsed) - len(items) - duplicates, duplicates=duplicates)


def store_file(db, file: PreparedFile) -> FileResult:
    """Write one prepared envelope in one transaction (raises RejectedFile before writing anything
    if its items are another account's posts)."""
    owners = _owners(db, [row["post_id"] for row in file.post_rows])
    foreign = {pid for pid, owner in owners.items() if owner != (file.account, file.platform)}
    if foreign:  # an envelope may never write metrics onto another account's post
        raise RejectedFile(f"{len(foreign)} item(s) belong to another account's posts "
                           f"(e.g. {sorted(foreign)[0]})")
    with db.conn:  # one transaction per file: all of it or none of it
        new_posts = _upsert_posts(db, file.post_rows, owners)
        db.conn.executemany(
            "INSERT OR IGNORE INTO metrics_snapshots (post_id, scraped_at, age_hours, views, plays, likes,"
            " comments, shares, saves, engagement_rate, follower_rate, raw_file) VALUES (:post_id,"
            " :scraped_at, :age_hours, :views, :plays, :likes, :comments, :shares, :saves,"
            " :engagement_rate, :follower_rate, :raw_file)", file.snapshots)
        if file.profile is not None:
            _replace_row(db, "profile_snapshots", file.profile)
        _replace_row(db, "scrape_runs", {**file.scrape_run, "new_posts": new_posts})
        _replace_row(db, "raw_files", {**file.raw_file, "loaded_at": to_iso(utc_now())})
    return FileResult(file.account, file.platform, file.item_count, new_posts, file.skipped_items,
                      file.duplicates)


def _prepare(ws: Workspace, path: Path, tzs: dict) -> PreparedFile | RejectedFile:
    """prepare_file, with a rejection returned instead of raised (so results stay in order)."""
    try:
        return prepare_file(ws, path, tzs.get(path.parent.name, timezone.utc))
    except RejectedFile as exc:
        return exc


def _prepare_into(pipe, inherited: list, ws: Workspace, paths: list[Path], tzs: dict) -> None:
    """A preparing worker: each of its files prepared, in order, sent down the pipe."""
    for receiver in inherited:  # only the writer may hold a read end: if it dies, send() must fail
        receiver.close()
    try:
        for path in paths:
            pipe.send(_prepare(ws, path, tzs))
    except BrokenPipeError:  # the writer stopped early (it failed or was killed): nothing more to do
        pass
    except Exception as exc:  # a bug, not a bad file: the writer raises it
        pipe.send(exc)
    finally:
        pipe.close()


def _received(pipe) -> PreparedFile | RejectedFile:
    item = pipe.recv()
    if isinstance(item, Exception) and not isinstance(item, RejectedFile):
        raise item
    return item


@contextlib.contextmanager
def file_preparer(ws: Workspace, paths: list[Path], tzs: dict) -> Iterator[Iterator[PreparedFile | RejectedFile]]:
    """The paths' prepared files (or rejections), in order. Reading, checking and normalizing take
    two fifths of a file's time and need no database, so with more than one CPU, forked workers
    prepare the next files while this process stores the current one: worker k takes every n-th
    file from the k-th, and its pipe holds only a few files, so memory stays flat. Plain pipes, not
    a multiprocessing.Pool, whose helper threads contend with the writer for the GIL (the writer
    took half as long again). Open the database inside the block: the workers are forked when it
    starts, and an SQLite connection must not cross a fork."""
    workers = min(usable_cpus() - 1, len(paths))  # one CPU stays with the writer
    if workers < 1:
        yield (_prepare(ws, path, tzs) for path in paths)
        return
    context = multiprocessing.get_context("fork")
    pipes, processes = [], []
    for k in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        pipes.append(receiver)
        process = context.Process(target=_prepare_into, args=(sender, pipes[:], ws, paths[k::workers], tzs),
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


def is_unchanged(path: Path, rel: str, known: dict) -> bool:
    stat = path.stat()
    return known.get(rel) == (stat.st_size, stat.st_mtime_ns)


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


def load_workspace(ws: Workspace, full: bool = False, quiet: bool = False) -> Problems:
    problems = Problems("load")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(line)
    db = open_db(ws.db_path)
    known = {} if full else unchanged_files(db)
    db.conn.close()  # reopened once the preparing workers exist (see file_preparer)
    todo = [path for path in ws.raw_files() if not is_unchanged(path, str(path.relative_to(ws.root)), known)]
    tzs = {account: config.tz for account, config in configs.items() if config.tz}
    totals: Counter = Counter()
    new_posts: Counter = Counter()
    skipped: Counter = Counter()
    loaded = 0
    with file_preparer(ws, todo, tzs) as prepared:
        db = open_db(ws.db_path, schema=False)
        for path, file in zip(todo, prepared):
            try:
                if isinstance(file, RejectedFile):
                    raise file
                result = store_file(db, file)
            except RejectedFile as exc:
                rel = path.relative_to(ws.root)
                problems.add(f"{rel}: {exc}; moved to {reject(ws, path, str(exc)).relative_to(ws.root)}")
                continue
            loaded += 1
            totals[(result.account, result.platform)] += result.items
            new_posts[(result.account, result.platform)] += result.new_posts
            skipped[(result.account, result.platform)] += result.skipped_items
        retimed = refresh_local_times(db, configs)
        db.conn.close()
    if not quiet:
        for (account, platform), items in sorted(totals.items()):
            ignored = skipped[(account, platform)]
            print(f"Loaded {items} items for {account} ({platform}), {new_posts[(account, platform)]} new posts"
                  + (f", {ignored} items skipped (not a post this platform's reader knows)" if ignored else ""))
        for account in retimed:
            print(f"Recomputed local posting times for {account} (its timezone changed)")
        print(f"load: {loaded} new or changed raw files loaded into {ws.db_path}")
    return problems
