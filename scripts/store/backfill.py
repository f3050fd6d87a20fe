"""make backfill: match every post to the generator output folder it came from, then classify it.

A post matches a folder when it was published within WINDOW_DAYS after the folder's generated_at
and its caption reads like the folder's hook (or caption); every such pair gets a score, and
pairs are taken best score first, so one folder matches at most one post per platform and one
post at most one folder. The score and folder are stored on the post (posts.match_score,
posts.output_folder), so every match can be audited. Then every post, matched or not, gets its
hook_text, slide_count, content_pillar, hook_style and cta.

An account whose output folders, posts, config and this code are all unchanged since the last
run is skipped (a fingerprint in the backfill_runs table).
"""
from __future__ import annotations

import hashlib
import os
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from scripts.store.classify import PillarMatcher, caption_lines, cta, first_line, hook_style
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.db import missing_data, open_db
from scripts.core.files import UnreadableJson, finite_number, read_json
from scripts.core.problems import Problems
from scripts.core.progress import progress
from scripts.core.timeutil import parse_utc, to_iso, utc_now
from scripts.core.workspace import Workspace, is_account_name

# The generator writes a batch ahead of a posting schedule; two weeks covers a fortnightly batch.
# Posts published earlier than generated_at (less a clock-skew hour) cannot come from the folder.
WINDOW_DAYS = 14.0
CLOCK_SKEW_HOURS = 1.0
# Between equally similar texts the folder generated closer to publication wins: half a point per
# day of delay, so a two-week-old folder loses 7 of 100 points.
LAG_PENALTY_PER_DAY = 0.5
# Below this score (0-100) a post stays unmatched. On the demo worlds (docs/backfill.md) 70 is the
# lowest threshold with no wrong match, even with reworded hooks; 60 lets a few in.
MIN_SCORE = 70.0
TOPIC_WEIGHT = 0.2     # share of the topic in hook-based evidence
WORD_MATCH = 85.0       # a topic word counts as present at this similarity to a caption word
TOPIC_ONLY_CAP = 0.65  # a folder with only a topic scores at most 65
# The platform's own slide count disagreeing with the folder's is evidence against the pair
# (not proof: a slide may be dropped before posting).
SLIDE_MISMATCH_PENALTY = 5.0
FOLDER_FILES = ("meta.json", "carousel_data.json")
BACKFILL_COLUMNS = ("topic", "format", "hook_text", "hook_score", "slide_count", "content_pillar",
                    "hook_style", "cta", "output_folder", "match_score")
FOLDER_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
CODE_FILES = (Path(__file__), Path(__file__).with_name("classify.py"))
# bounds on a generator folder: its files are small JSON, its texts a few sentences; past these a
# value is an error (a runaway generator, a hostile file), not a post to match
GENERATOR_FILE_MAX = 4 * 2**20
TEXT_MAX = 5_000
SLIDES_MAX = 100


class FolderError(ValueError):
    """A generator file that cannot be read; the message says what is wrong with it."""

    def __init__(self, path: Path, problem: str):
        super().__init__(problem)
        self.path, self.problem = path, problem


@dataclass
class Folder:
    rel: str                    # relative to the account folder: output/<...>
    generated: float            # epoch seconds (UTC)
    topic: str | None
    format: str | None
    hook_text: str | None
    hook_score: float | None
    slide_count: int | None
    caption: str | None

    def __post_init__(self):
        self.hook_key = default_process(self.hook_text or "")
        self.caption_key = default_process(" ".join(caption_lines(self.caption)))
        self.topic_words = default_process(self.topic or "").split()


@dataclass
class Post:
    post_id: str
    platform: str
    caption: str | None
    published: float | None
    media_slide_count: int | None
    stored: dict                # the backfill columns as stored now

    def __post_init__(self):
        self.first_line = first_line(self.caption)
        self.first_key = default_process(self.first_line or "")
        self.caption_key = default_process(" ".join(caption_lines(self.caption)))
        self.caption_words = frozenset(default_process(self.caption or "").split())


# --- reading generator folders -------------------------------------------------------------
def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _read_object(path: Path) -> dict:
    try:
        data = read_json(path, max_bytes=GENERATOR_FILE_MAX)
    except UnreadableJson as exc:
        raise FolderError(path, str(exc)) from None
    if not isinstance(data, dict):
        raise FolderError(path, f"expected a JSON object, got {type(data).__name__}")
    return data


def _slide_text(slide) -> str | None:
    if isinstance(slide, dict):
        texts = (_text(slide.get(key)) for key in ("text", "title", "headline", "body"))
        return next((text for text in texts if text), None)
    return _text(slide)


def _moment(raw, tz: ZoneInfo) -> datetime | None:
    """An ISO-8601 time (without an offset it is the account's local time) or epoch seconds."""
    if not isinstance(raw, str):
        return parse_utc(raw)
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def generated_time(meta: dict, rel: str, files: dict[str, Path], tz: ZoneInfo) -> float:
    """meta.generated_at, else a YYYY-MM-DD in the folder's path (local midnight), else the
    modification time of the folder's oldest generator file."""
    moment = _moment(meta.get("generated_at"), tz)
    if moment is None and (day := FOLDER_DATE.search(rel)):
        moment = _moment(day.group(1), tz)
    return moment.timestamp() if moment else min(path.stat().st_mtime for path in files.values())


def read_folder(rel: str, files: dict[str, Path], tz: ZoneInfo) -> Folder:
    """One generator folder (files: its FOLDER_FILES by name); every field may be missing, a
    malformed file raises FolderError."""
    meta = _read_object(files["meta.json"]) if "meta.json" in files else {}
    carousel = _read_object(files["carousel_data.json"]) if "carousel_data.json" in files else {}
    slides = carousel.get("slides") if isinstance(carousel.get("slides"), list) else None
    meta_slides = finite_number(meta.get("slide_count"), text_ok=True)
    if meta_slides is not None and meta_slides > SLIDES_MAX:
        raise FolderError(files["meta.json"], f"slide_count: {meta.get('slide_count')} is more than {SLIDES_MAX} slides")
    meta_slides = int(meta_slides) if meta_slides and meta_slides >= 1 else None
    folder = Folder(
        rel=rel, generated=generated_time(meta, rel, files, tz),
        topic=_text(meta.get("topic")), format=_text(meta.get("format")),
        hook_text=_text(meta.get("hook_text")) or (_slide_text(slides[0]) if slides else None),
        hook_score=finite_number(meta.get("hook_score"), text_ok=True),
        slide_count=len(slides) if slides else meta_slides,
        caption=_text(carousel.get("caption")) or _text(meta.get("caption")))
    _check_bounds(folder, files)
    return folder


def _check_bounds(folder: Folder, files: dict[str, Path]) -> None:
    where = files.get("meta.json") or next(iter(files.values()))
    for name in ("topic", "format", "hook_text", "caption"):
        value = getattr(folder, name)
        if value is not None and len(value) > TEXT_MAX:
            raise FolderError(where, f"{name}: {len(value):,} characters, more than {TEXT_MAX:,}")
    if folder.slide_count is not None and folder.slide_count > SLIDES_MAX:
        raise FolderError(where, f"{folder.slide_count} slides, more than {SLIDES_MAX}")


def folder_files(ws: Workspace, account: str) -> dict[str, dict[str, Path]]:
    """Generator folders under output/, at any depth: every folder holding one of FOLDER_FILES.
    Keyed by the folder's path relative to the account (output/...), sorted."""
    folders, account_dir = {}, ws.account_dir(account)
    for directory, _subdirs, names in os.walk(ws.output_dir(account)):
        present = {name: Path(directory, name) for name in FOLDER_FILES if name in names}
        if present:
            folders[Path(directory).relative_to(account_dir).as_posix()] = present
    return dict(sorted(folders.items()))


# --- matching ------------------------------------------------------------------------------
def topic_presence(topic_words: list[str], post: Post) -> float:
    """0-100: the share of the topic's words found in the caption, allowing small variations
    (routine ~ routines)."""
    found = sum(1 for word in topic_words if word in post.caption_words or
                process.extractOne(word, post.caption_words, scorer=fuzz.ratio, score_cutoff=WORD_MATCH))
    return 100.0 * found / len(topic_words)


def text_similarity(folder: Folder, post: Post, needed: float = 0.0) -> float:
    """0-100: how much the post's caption reads like the folder's text (hashtag lines left out).

    The hook against the caption's first line (or found later in the caption) is the evidence;
    the generator's caption against the post's can lift a reworded hook halfway towards its own
    score, but cannot stand in for a different hook, since captions share boilerplate lines.
    Templated hooks differ mainly by topic, so a folder topic missing from the caption lowers the
    score (a present one never raises it); a slide count that disagrees with the platform's
    lowers it too. A folder with nothing but a topic is weak evidence (many posts share a topic)
    and is capped below the default threshold. Stops early, with an upper bound, once the score
    cannot reach `needed` (the topic and slide checks only ever lower it).
    """
    hook = fuzz.ratio(folder.hook_key, post.first_key) if folder.hook_key else None
    caption = fuzz.ratio(folder.caption_key, post.caption_key) if folder.caption_key else None
    if hook is not None and len(folder.hook_key) >= 20:  # a short hook fits inside any caption
        # partial_ratio is the costly one: skip it (cutoff) where it cannot lift the score to `needed`
        useful = needed if caption is None else min(needed, 2 * needed - caption)
        found = fuzz.partial_ratio(folder.hook_key, post.caption_key, score_cutoff=max(0.0, useful / 0.95))
        hook = max(hook, 0.95 * found)
    if hook is not None and caption is not None:
        text = max(hook, (hook + caption) / 2)
    else:
        text = hook if hook is not None else caption
    if text is not None and text < needed:
        return text
    topic = topic_presence(folder.topic_words, post) if folder.topic_words else None
    if text is None:
        return TOPIC_ONLY_CAP * topic if topic is not None else 0.0
    if topic is not None:
        text -= TOPIC_WEIGHT * max(0.0, text - topic)
    if folder.slide_count and post.media_slide_count and folder.slide_count != post.media_slide_count:
        text -= SLIDE_MISMATCH_PENALTY
    return text


@dataclass(frozen=True)
class Settings:
    window_days: float = WINDOW_DAYS
    min_score: float = MIN_SCORE

    def key(self) -> str:  # the other constants are part of the code, which the fingerprint covers
        return f"window={self.window_days};min={self.min_score}"


def candidate_pairs(folders: list[Folder], posts: list[Post], settings: Settings) -> list[tuple]:
    """(score, lag, folder index, post index) for every pair within the window and over the threshold.
    posts must be sorted by publication time; each folder looks only at its window's slice."""
    times = [p.published for p in posts]
    pairs = []
    for fi, folder in enumerate(folders):
        lo = bisect_left(times, folder.generated - CLOCK_SKEW_HOURS * 3600)
        hi = bisect_right(times, folder.generated + settings.window_days * 86400)
        for pi in range(lo, hi):
            lag_days = max(0.0, posts[pi].published - folder.generated) / 86400
            lag_penalty = LAG_PENALTY_PER_DAY * lag_days
            score = text_similarity(folder, posts[pi], settings.min_score + lag_penalty) - lag_penalty
            if score >= settings.min_score:
                pairs.append((round(score, 1), lag_days, fi, pi))
    return pairs


def assign(pairs: list[tuple], folders: list[Folder], posts: list[Post]) -> dict[int, tuple[int, float]]:
    """Best score first; ties go to the shorter delay, then the folder path, then the post id.
    post index -> (folder index, score). Greedy, not a max-sum assignment: a near-certain pair
    (same hook, next day) is never broken up to make two weaker pairs."""
    order = sorted(pairs, key=lambda p: (-p[0], p[1], folders[p[2]].rel, posts[p[3]].post_id))
    taken_folders, matches = set(), {}
    for score, _lag, fi, pi in order:
        if fi in taken_folders or pi in matches:
            continue
        taken_folders.add(fi)
        matches[pi] = (fi, score)
    return matches


def match_platform(folders: list[Folder], posts: list[Post],
                   settings: Settings) -> dict[str, tuple[Folder, float]]:
    """post_id -> (folder, score) for the posts of one platform."""
    timed = sorted((p for p in posts if p.published is not None), key=lambda p: (p.published, p.post_id))
    matches = assign(candidate_pairs(folders, timed, settings), folders, timed)
    return {timed[pi].post_id: (folders[fi], score) for pi, (fi, score) in matches.items()}


# --- deriving the columns ------------------------------------------------------------------
def backfill_values(post: Post, match: tuple[Folder, float] | None, pillars: PillarMatcher) -> dict:
    folder, score = match if match else (None, None)
    hook = (folder.hook_text if folder else None) or post.first_line
    topic = folder.topic if folder else None
    slides = (folder.slide_count if folder else None) or post.media_slide_count
    return {"topic": topic, "format": folder.format if folder else None, "hook_text": hook,
            "hook_score": folder.hook_score if folder else None, "slide_count": slides,
            "content_pillar": pillars.pillar(topic, post.caption), "hook_style": hook_style(hook),
            "cta": cta(post.caption), "output_folder": folder.rel if folder else None, "match_score": score}


# --- one account ---------------------------------------------------------------------------
@dataclass
class AccountResult:
    account: str
    skipped: bool = False
    folders: int = 0
    folders_skipped: int = 0
    posts: int = 0
    matched: int = 0
    changed: int = 0


POST_FACTS = ("post_id", "platform", "caption", "published_at", "media_slide_count")


def read_post_rows(db, account: str) -> list[tuple]:
    """The account's posts as stored: POST_FACTS, then BACKFILL_COLUMNS."""
    return db.execute(f"SELECT {', '.join(POST_FACTS + BACKFILL_COLUMNS)} FROM posts "
                      f"WHERE account_name = ? ORDER BY post_id", [account]).fetchall()


def to_post(row: tuple) -> Post:
    published = parse_utc(row[3])
    return Post(row[0], row[1], row[2], published.timestamp() if published else None, row[4],
                dict(zip(BACKFILL_COLUMNS, row[len(POST_FACTS):])))


def fingerprint(ws: Workspace, account: str, files: dict[str, dict[str, Path]], post_rows: list[tuple],
                settings: Settings) -> str:
    """Everything a backfill of the account depends on, without reading a generator file."""
    digest = hashlib.sha256()
    for path in CODE_FILES:
        digest.update(path.read_bytes())
    digest.update(settings.key().encode())
    config = ws.config_path(account)
    digest.update(config.read_bytes() if config.is_file() else b"-")
    for rel, paths in files.items():
        for name, path in paths.items():
            try:
                stat = path.stat()
                digest.update(f"{rel}/{name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
            except OSError:  # a dangling or looping symlink: read_folder reports it
                digest.update(f"{rel}/{name}|unreadable\n".encode())
    for row in post_rows:
        digest.update(repr(row[:len(POST_FACTS)]).encode())
    return digest.hexdigest()


def read_folders(ws: Workspace, account: str, files: dict[str, dict[str, Path]], tz: ZoneInfo,
                 problems: Problems) -> tuple[list[Folder], set[str]]:
    """Readable folders, and the relative paths of those skipped for malformed JSON."""
    folders, broken = [], set()
    for rel, paths in files.items():
        try:
            folders.append(read_folder(rel, paths, tz))
        except FolderError as exc:
            problems.add(f"{exc.path.relative_to(ws.root)}: {exc.problem}; folder skipped")
            broken.add(rel)
        except (ValueError, TypeError, OverflowError, OSError) as exc:  # a case no check foresaw
            problems.add(f"{ws.account_dir(account).relative_to(ws.root)}/{rel}: unexpected content "
                         f"({type(exc).__name__}: {str(exc)[:120]}); folder skipped")
            broken.add(rel)
    return folders, broken


def save(db, account: str, posts: list[Post], values: dict[str, dict], result: AccountResult,
         new_fingerprint: str | None) -> None:
    changed = [{**values[p.post_id], "post_id": p.post_id} for p in posts if values[p.post_id] != p.stored]
    result.changed = len(changed)
    assignments = ", ".join(f"{c} = :{c}" for c in BACKFILL_COLUMNS)
    with db.conn:  # one transaction per account
        db.conn.executemany(f"UPDATE posts SET {assignments} WHERE post_id = :post_id", changed)
        db["backfill_runs"].upsert({"account_name": account, "fingerprint": new_fingerprint,
                                    "folders": result.folders, "folders_skipped": result.folders_skipped,
                                    "posts": result.posts, "matched": result.matched,
                                    "changed": result.changed, "run_at": to_iso(utc_now())},
                                   pk="account_name")


def backfill_account(db, ws: Workspace, account: str, config: AccountConfig, settings: Settings,
                     full: bool, problems: Problems) -> AccountResult:
    result = AccountResult(account)
    files = folder_files(ws, account)
    post_rows = read_post_rows(db, account)
    current = fingerprint(ws, account, files, post_rows, settings)
    stored = db.execute("SELECT fingerprint FROM backfill_runs WHERE account_name = ?", [account]).fetchone()
    if not full and stored and stored[0] == current:
        result.skipped = True
        return result
    before = len(problems.lines)
    posts = [to_post(row) for row in post_rows]
    folders, broken = read_folders(ws, account, files, config.tz, problems)
    # posts already matched to a folder that no longer parses keep what they have
    posts = [p for p in posts if p.stored["output_folder"] not in broken]
    pillars = PillarMatcher(config.content_pillars)
    values = {}
    for platform in sorted({p.platform for p in posts}):
        on_platform = [p for p in posts if p.platform == platform]
        matches = match_platform(folders, on_platform, settings)
        for post in on_platform:
            values[post.post_id] = backfill_values(post, matches.get(post.post_id), pillars)
    result.folders, result.folders_skipped = len(folders), len(broken)
    result.posts = len(posts)
    result.matched = sum(1 for v in values.values() if v["output_folder"])
    clean = len(problems.lines) == before
    save(db, account, posts, values, result, current if clean else None)
    return result


# --- the step ------------------------------------------------------------------------------
def accounts_to_backfill(ws: Workspace, db, problems: Problems) -> tuple[dict[str, AccountConfig], list[str]]:
    """Accounts with a valid config, plus accounts that have posts but no config folder at all
    (classified without pillars); and the accounts skipped because their config is broken."""
    configs, errors = load_accounts(ws)
    for line in errors:
        problems.add(f"{line}; account skipped")
    with_config_file = ws.account_names()
    for (account,) in db.execute("SELECT DISTINCT account_name FROM posts ORDER BY 1"):
        if account not in with_config_file and is_account_name(account):
            configs[account] = AccountConfig(name=account)
    return dict(sorted(configs.items())), [a for a in with_config_file if a not in configs]


def print_report(db, results: list[AccountResult], broken_configs: list[str]) -> None:
    counts = {}
    for account, platform, posts, matched in db.execute(
            "SELECT account_name, platform, COUNT(*), COUNT(output_folder) FROM posts GROUP BY 1, 2"):
        counts.setdefault(account, []).append((platform, posts, matched))
    notes = {account: "config error, not backfilled" for account in broken_configs}
    for result in results:
        notes[result.account] = "unchanged, skipped" if result.skipped else \
            f"{result.folders} folders read, {result.folders_skipped} skipped, {result.changed} posts changed"
    print(f"{'account':<24} {'platform':<10} {'posts':>6} {'matched':>8} {'unmatched':>10}  note")
    for account, note in sorted(notes.items()):
        for platform, posts, matched in counts.get(account) or [("-", 0, 0)]:
            print(f"{account:<24} {platform:<10} {posts:>6} {matched:>8} {posts - matched:>10}  {note}".rstrip())
            note = ""


def backfill_workspace(ws: Workspace, settings: Settings, full: bool = False,
                       quiet: bool = False) -> Problems:
    problems = Problems("backfill")
    refusal = missing_data(ws)
    if refusal:
        problems.add(f"{refusal}; nothing was written")
        return problems
    db = open_db(ws.db_path)
    results = []
    configs, broken_configs = accounts_to_backfill(ws, db, problems)
    with progress(len(configs), "backfill: accounts", quiet) as bar:
        for account, config in configs.items():
            results.append(backfill_account(db, ws, account, config, settings, full, problems))
            bar.advance()
    if not quiet:
        print_report(db, results, broken_configs)
    return problems
