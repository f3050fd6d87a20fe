"""make analyze: the ten analysis dimensions, per account and across accounts, into data/insights/.

Writes data/insights/<account>.json for every account with a valid config and, last,
data/insights/all.json (the cross-account findings). Every file is checked against
schemas/insights.schema.json before it is written (atomically). One account that fails is reported
and the others still get their files; the step then exits non-zero. Accounts are read and analyzed
in worker processes, one per usable CPU; the files do not depend on how many.

Incremental (docs/analyze.md, "The phase-one cache, the kept prior and the findings cache"): phase
one of an account (its data read and its models fitted) is kept in data/cache/analyze/<account>.pkl,
keyed by a fingerprint of everything it depends on (its rows in the database, its config, the
analysis code and schema, the libraries), and reused while that fingerprint holds. The pooling's
cross-account side is kept in data/pooled_priors.json while it still holds for the data
(pooling.prior_holds), so one account's new posts leave the other accounts' pooled estimates as they
were; an account's findings are then kept too (data/cache/analyze/<account>.findings, keyed by its
phase one and the priors). The cross-account findings and the follow-ups always run. A file whose
content is unchanged apart from generated_at is not rewritten.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import pickle
import platform
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy
import scipy
from threadpoolctl import threadpool_limits

from scripts.analysis.behaviour import growth, save_vs_share, timing
from scripts.analysis.content import failures, formats, hooks, pillars, slide_count
from scripts.analysis.data import PRIMARY_METRIC, AccountData, PlatformPosts, read_account
from scripts.analysis.findings import Candidate, finalize
from scripts.analysis.followups import close_the_loop
from scripts.core.findings import CONFIDENCE_LEVELS, finding_rank
from scripts.analysis.levers import AccountEstimates, Evidence, account_estimates, build_models, pool_accounts
from scripts.analysis.pooling import Prior, prior_from_json, prior_to_json
from scripts.analysis.portfolio import cross_account, exploration, hook_score_posts
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.cpus import usable_cpus
from scripts.core.db import missing_data, open_db
from scripts.core.files import UnreadableJson, WriteFailed, hash_files, read_bytes_bounded, read_json, write_text_atomic
from scripts.core.signed import read_entry, write_entry
from scripts.core.problems import Problems
from scripts.core.schemas import INSIGHTS_VALIDATOR, schema_problem
from scripts.core.timeutil import to_iso, utc_now
from scripts.core.workspace import PROJECT_DIR, SCHEMA_DIR, SQL_DIR, Workspace

ALL = "all"
VOLUME_METRICS = tuple(f"{m}_d7" for m in PRIMARY_METRIC.values())  # also their cross-account _lift
SUMMARY_TOP = 3


def account_candidates(data: AccountData, config: AccountConfig, models: dict, ev: Evidence) -> list[Candidate]:
    """Every comparison the nine per-account dimensions make for one account."""
    candidates: list[Candidate] = []
    for network, posts in data.platforms.items():   # not "platform": the module the code fingerprint reads
        by_metric = models[network]
        slides, threshold = slide_count(ev, by_metric)
        candidates += (formats(ev, by_metric) + failures(posts, threshold) + pillars(ev, by_metric)
                       + save_vs_share(ev, by_metric) + hooks(ev, by_metric) + slides
                       + timing(ev, by_metric, data.published) + growth(posts))
    candidates += exploration(data, config)
    for candidate in candidates:
        candidate.account = data.account
    return candidates


def long_tail_formats(findings: list[dict]) -> dict[str, str]:
    """format -> growth finding id, for formats shown (on either platform: the same content is
    cross-posted) to keep growing after day 7."""
    found: dict[str, str] = {}
    for f in findings:
        if f["dimension"] == "growth" and f["direction"] == "better" and f["confidence"] != "low":
            found.setdefault(f["subject"]["format"], f["id"])
    return found


def long_tail_caveat(known: dict[str, str] | None = None):
    """A day-7 'worse' about a format that keeps growing after day 7 says when its views come, not
    how many: such findings are kept with a caveat, at low confidence and with no direction, so
    the recommender does not cut a slow-burning format. `known` adds long-tail formats found
    elsewhere (the accounts, for the cross-account file)."""
    def adjust(findings: list[dict]) -> None:
        long_tail = {**(known or {}), **long_tail_formats(findings)}
        for f in findings:
            fmt = (f.get("subject") or {}).get("format")
            source = long_tail.get(fmt)
            if source and f["direction"] == "worse" and f["metric"].startswith(VOLUME_METRICS):
                f["claim"] += (f" Caveat: {fmt} posts keep growing after day 7 ({source}), so day-7 numbers "
                               f"understate them; not counted as worse.")
                f["confidence"], f["direction"] = "low", "none"
                f["details"]["caveat"] = {"long_tail": source}
    return adjust


def insights_document(account: str, data_through: str | None, sample_size: int, findings: list[dict]) -> dict:
    doc = {"account": account, "generated_at": to_iso(utc_now()), "data_through": data_through,
           "sample_size": sample_size, "findings": findings}
    problem = schema_problem(INSIGHTS_VALIDATOR, doc)
    if problem:  # our own bug: refuse to write a file the recommender would reject
        raise ValueError(f"output does not match insights.schema.json at {problem}")
    return doc


def insights_text(doc: dict) -> str:
    """The file's JSON with one finding per line: readable, a diff shows which findings changed,
    and json's C encoder does the work (it is not used when indenting)."""
    head = json.dumps({k: v for k, v in doc.items() if k != "findings"}, ensure_ascii=False)[:-1]
    lines = ",\n".join("  " + json.dumps(f, ensure_ascii=False) for f in doc["findings"])
    return f'{head}, "findings": [\n{lines}\n]}}\n' if lines else f'{head}, "findings": []}}\n'


_GENERATED_AT = re.compile(r'^(\{"account": "[^"]*", "generated_at": )"[^"]*"')


def same_apart_from_generated_at(path: Path, text: str) -> bool:
    """Whether the file at path already holds text, apart from its generated_at (any problem
    reading it: no)."""
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return _GENERATED_AT.sub(r'\1""', old, count=1) == _GENERATED_AT.sub(r'\1""', text, count=1)


def write_insights(path: Path, doc: dict) -> bool:
    """Write an insights file unless it already says the same apart from generated_at; whether it
    was written. An unchanged file keeps its generated_at (when its findings were made), so the
    steps after analyze, and Make, see it unchanged."""
    text = insights_text(doc)
    if same_apart_from_generated_at(path, text):
        return False
    write_text_atomic(path, text)
    return True


def summary_lines(name: str, findings: list[dict]) -> list[str]:
    counts = {level: sum(f["confidence"] == level for f in findings) for level in CONFIDENCE_LEVELS}
    lines = [f"{name}: {len(findings)} findings "
             f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low)"]
    clear = sorted((f for f in findings if f["confidence"] != "low" and f["direction"] != "none"), key=finding_rank)
    for finding in clear[:SUMMARY_TOP]:
        where = f"[{finding['confidence']}, {finding['platform'] or 'all'}]"
        lines.append(f"  {where} {finding['claim']}")
    return lines


def model_account(data: AccountData) -> tuple[dict, AccountEstimates]:
    """Phase one: an account's models and its own estimate of every lever comparison."""
    models = build_models(data.platforms)
    return models, account_estimates(models)


def analyze_account(data: AccountData, config: AccountConfig, models: dict, ev: Evidence) -> dict:
    """Phase two: one account's insights document, from its estimates pooled with its siblings'."""
    findings = finalize(account_candidates(data, config, models, ev), adjust=long_tail_caveat())
    return insights_document(data.account, data.data_through, data.sample_size, findings)


# --- the phase-one cache ------------------------------------------------------------------------
# An entry (scripts/core/signed.py) is CACHE_MAGIC, the HMAC-SHA256 of key and pickle under this
# user's secret, the key, then the pickle of (data, models, estimates). Anything else (a torn,
# truncated or foreign file, another key, a pickle that does not load) is a miss: the account is read
# and modelled again and the entry rewritten. The cache only ever saves time; what is in it never
# decides a result (the key covers every input).
CACHE_MAGIC = b"account-analytics analyze phase-one cache v1\n"
FINDINGS_MAGIC = b"account-analytics analyze findings cache v1\n"
CACHE_MAX_BYTES = 256 * 2**20   # an account-year is about 0.6 MB
# the code phase one runs, as Make's ANALYZE_SOURCES (mk/40-analyze.mk) plus the SQL behind the views
CODE_GLOBS = ("scripts/analyze.py", "scripts/core/*.py", "scripts/sources/*.py", "scripts/store/*.py",
              "scripts/analysis/*.py")
# What read_account (scripts/analysis/data.py) reads of one account, as cheap aggregates that
# change whenever what it reads changes:
# - every column of its posts (load and backfill update them in place, so no count would do);
# - its metrics at fixed ages: rows are only ever added, or replaced by an earlier snapshot in the
#   age's window (load's AT_AGE_FROM_NEW_SNAPSHOTS, scripts/store/load.py), so count and total age change
#   with every change; the snapshot times say which snapshots they are;
# - its newest scrape (data_through). Nothing it reads depends on the clock.
FINGERPRINT_SQL = (
    "SELECT * FROM posts WHERE account_name = :account ORDER BY post_id",
    "SELECT count(*), total(m.age_hours), min(m.scraped_at), max(m.scraped_at), total(m.views), total(m.likes) "
    "FROM metrics_at_age m JOIN posts p ON p.post_id = m.post_id WHERE p.account_name = :account",
    "SELECT MAX(scraped_at) FROM raw_files WHERE account_name = :account",
)


def code_fingerprint() -> str:
    """The analysis code, the SQL schema and views, the insights schema and the numeric libraries:
    a change to any of them is a change to every account's phase one."""
    digest = hashlib.sha256(CACHE_MAGIC)
    digest.update(f"python {platform.python_version()} numpy {numpy.__version__} scipy {scipy.__version__}".encode())
    files = ({p for pattern in CODE_GLOBS for p in PROJECT_DIR.glob(pattern)}
             | set(SQL_DIR.glob("*/*.sql")) | {SCHEMA_DIR / "insights.schema.json"})
    hash_files(digest, PROJECT_DIR, files)
    return digest.hexdigest()


def phase_one_key(db, ws: Workspace, account: str, code: str) -> str:
    """The fingerprint of everything an account's phase one depends on (read in the same read
    transaction as the data it stands for)."""
    digest = hashlib.sha256(code.encode())
    digest.update(f"\0{account}\0".encode())
    config = ws.config_path(account)
    digest.update(config.read_bytes() if config.is_file() else b"-")
    for sql in FINGERPRINT_SQL:
        digest.update(b"\0")
        digest.update(pickle.dumps(db.execute(sql, {"account": account}).fetchall(), protocol=5))
    return digest.hexdigest()


def read_cache(path: Path, key: str, account: str) -> tuple | None:
    """An account's cached phase one (data, models, estimates) under this key, or None."""
    result = read_entry(path, CACHE_MAGIC, key, CACHE_MAX_BYTES)
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[0], AccountData) \
            and result[0].account == account and isinstance(result[2], AccountEstimates):
        return result
    return None


def write_cache(path: Path, key: str, result: tuple) -> bool:
    return write_entry(path, CACHE_MAGIC, key, result)


def read_findings_cache(ws: Workspace, account: str, key: str) -> dict | None:
    """An account's cached insights document (phase two) under this key, or None."""
    doc = read_entry(ws.findings_cache_path(account), FINDINGS_MAGIC, key, CACHE_MAX_BYTES)
    return doc if isinstance(doc, dict) and doc.get("account") == account else None


def findings_key(phase_one: str, priors: str) -> str:
    """Phase two reads the account's phase one and, of the other accounts, only the priors."""
    return hashlib.sha256(f"{phase_one}\0{priors}".encode()).hexdigest()


def prune_cache(ws: Workspace, accounts: list[str]) -> None:
    """Entries of accounts that are gone (renamed, removed, a broken config) are removed."""
    keep = {path.name for account in accounts
            for path in (ws.analyze_cache_path(account), ws.findings_cache_path(account),
                         ws.picks_cache_path(account))}
    try:
        for path in ws.analyze_cache_dir.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
    except OSError:
        pass


# what the analysis workers need, set before they are forked so they inherit it
_work: dict = {}


@dataclass
class PhaseOne:
    """What analyze's parent keeps of an account's phase one: what the pooling (its own estimates),
    the cross-account findings (its hook-score posts) and the follow-ups (its day-7 posts) read. The
    data and models stay in the account's cache entry, which its phase-two worker reads again, so the
    parent's memory does not grow with them; `full` holds them where no entry could be written."""
    estimates: AccountEstimates
    platforms: dict[str, PlatformPosts]
    hook_posts: dict[str, PlatformPosts]
    key: str
    full: tuple | None = None

    @classmethod
    def of(cls, result: tuple, key: str, stored: bool) -> PhaseOne:
        data, models, estimates = result
        return cls(estimates, data.platforms, hook_score_posts(models), key, None if stored else result)


def read_and_model(db, account: str) -> tuple:
    """Phase one from the database: (data, models, estimates)."""
    data = read_account(db, account)
    return (data, *model_account(data))


def _read_and_model(db, ws: Workspace, account: str) -> tuple[tuple, str, bool]:
    """(data, models, estimates) from the cache, else read and modelled; its key; whether cached.
    The fingerprint and the data are read in one read transaction, so the key stands for the data."""
    db.conn.execute("BEGIN")
    key = phase_one_key(db, ws, account, _work["code"])
    cached = read_cache(ws.analyze_cache_path(account), key, account)
    if cached is not None:
        return cached, key, True
    return read_and_model(db, account), key, False


def _model_one(account: str) -> tuple[str, PhaseOne | str, bool]:
    """An account's phase one, or the one-line reason it failed; and whether it came from the cache.
    The connection is the account's own and closed before the result is returned: a worker is ended
    by a signal, and a connection left open would leave the -wal and -shm files behind."""
    try:
        ws: Workspace = _work["ws"]
        db = open_db(_work["db_path"], schema=False)
        try:
            result, key, hit = _read_and_model(db, ws, account)
        finally:
            db.conn.close()
        stored = hit or write_cache(ws.analyze_cache_path(account), key, result)
        return account, PhaseOne.of(result, key, stored), hit
    except Exception as exc:
        return account, f"{type(exc).__name__}: {exc}", False


def _phase_one_again(ws: Workspace, account: str, one: PhaseOne) -> tuple:
    """The account's data and models for phase two: kept, or from its entry (the key phase one
    stored it under), or, were the entry gone, read and modelled again."""
    if one.full is not None:
        return one.full
    cached = read_cache(ws.analyze_cache_path(account), one.key, account)
    if cached is not None:
        return cached
    db = open_db(_work["db_path"], schema=False)
    try:
        return read_and_model(db, account)
    finally:
        db.conn.close()


def _analyze_one(account: str) -> tuple[str, dict | str, bool]:
    """Phase two of one account, or its cached document while its phase one and the priors are the
    ones it was made from."""
    try:
        ws: Workspace = _work["ws"]
        one: PhaseOne = _work["inputs"][account]
        key = findings_key(one.key, _work["priors"])
        doc = read_findings_cache(ws, account, key)
        if doc is not None:
            return account, {**doc, "generated_at": to_iso(utc_now())}, True
        data, models, _ = _phase_one_again(ws, account, one)
        doc = analyze_account(data, _work["configs"][account], models, Evidence(account, _work["pooled"]))
        write_entry(ws.findings_cache_path(account), FINDINGS_MAGIC, key, doc)
        return account, doc, False
    except Exception as exc:
        return account, f"{type(exc).__name__}: {exc}", False


# --- the kept priors (docs/analyze.md, "The kept prior") ----------------------------------------
PRIORS_MAX_BYTES = 256 * 2**20
PRIORS_FORMAT = "account-analytics pooled priors v1"


def read_priors(ws: Workspace) -> dict[str, Prior]:
    """The priors the last run pooled with, by family; a family whose entry is not one this code
    writes (or a file that is missing, torn or foreign) is pooled afresh: the file is state that only
    keeps findings still, never an input a result depends on beyond the tolerances."""
    try:
        stored = read_json(ws.pooled_priors_path, max_bytes=PRIORS_MAX_BYTES)
        families = stored["families"] if stored.get("format") == PRIORS_FORMAT else {}
    except (UnreadableJson, OSError, AttributeError, KeyError, TypeError):
        return {}
    kept = {}
    for name, doc in families.items() if isinstance(families, dict) else ():
        try:
            kept[name] = prior_from_json(doc)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return kept


def priors_text(priors: dict[str, Prior]) -> str:
    return json.dumps({"format": PRIORS_FORMAT,
                       "families": {name: prior_to_json(priors[name]) for name in sorted(priors)}})


def write_priors(ws: Workspace, text: str) -> str | None:
    """The priors this run pooled with, for the next run (unless unchanged); the problem line when
    the file cannot be written (the findings are still written: the next run pools afresh)."""
    path = ws.pooled_priors_path
    with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
        if read_bytes_bounded(path, PRIORS_MAX_BYTES) == text.encode():
            return None
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        return f"{path}: cannot keep the pooled priors ({exc})"
    return None


def _in_workers(job, accounts: list[str]) -> Iterator[tuple]:
    """job over the accounts, in name order. Accounts are independent, so they are spread over the
    CPUs this process may use (forked workers that inherit _work, scripts/cpus.py): on 2 cores a year
    of 50 accounts takes 40 % less time."""
    workers = min(usable_cpus(), len(accounts))
    if workers <= 1:
        yield from map(job, accounts)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(job, accounts)


def analyze_all(ws: Workspace, configs: dict[str, AccountConfig]) -> tuple[list[tuple], list[Candidate], dict, dict,
                                                                          str | None]:
    """Every account read, modelled (or taken from the phase-one cache), pooled with the others and
    analyzed (or taken from the findings cache), in name order: [(account, document or the reason it
    failed)], the cross-account candidates, each account's day-7 posts per platform (for the
    follow-ups), how many accounts each cache served, and the priors file's problem (or None)."""
    accounts = sorted(configs)
    _work.update(db_path=ws.db_path, configs=configs, ws=ws, code=code_fingerprint())
    try:
        modelled, failed, hits = {}, {}, {"phase one": 0, "findings": 0}
        for account, result, hit in _in_workers(_model_one, accounts):
            (failed if isinstance(result, str) else modelled)[account] = result
            hits["phase one"] += hit
        prune_cache(ws, accounts)
        pooled = pool_accounts({account: one.estimates for account, one in modelled.items()}, read_priors(ws))
        priors = priors_text(pooled.priors)
        priors_problem = write_priors(ws, priors)
        _work.update(inputs=modelled, pooled=pooled, priors=hashlib.sha256(priors.encode()).hexdigest())
        docs = dict(failed)
        for account, doc, hit in _in_workers(_analyze_one, sorted(modelled)):
            docs[account] = doc
            hits["findings"] += hit
        cross = cross_account(pooled.families, {account: one.hook_posts for account, one in modelled.items()})
        day7 = {account: one.platforms for account, one in modelled.items()}
        return [(account, docs[account]) for account in accounts], cross, day7, hits, priors_problem
    finally:
        _work.clear()


def analyze_across(ws: Workspace, docs: list[dict], candidates: list[Candidate], long_tail: dict) -> list[dict]:
    """The cross-account findings, written to all.json (also when there is nothing to compare)."""
    cross = finalize(candidates, adjust=long_tail_caveat(long_tail)) if len(docs) >= 2 else []
    through = max((d["data_through"] for d in docs if d["data_through"]), default=None)
    write_insights(ws.all_insights_path, insights_document(ALL, through, sum(d["sample_size"] for d in docs), cross))
    return cross


def analyze_workspace(ws: Workspace, quiet: bool = False) -> Problems:
    # thousands of tiny least-squares fits: BLAS threads only add overhead (twice as slow on 2 cores)
    with threadpool_limits(limits=1):
        return _analyze_workspace(ws, quiet)


def _analyze_workspace(ws: Workspace, quiet: bool) -> Problems:
    problems = Problems("analyze")
    configs, config_errors = load_accounts(ws)
    for line in config_errors:
        problems.add(f"{line} (account skipped)")
    refusal = missing_data(ws) or (None if ws.db_path.exists() else f"{ws.db_path}: missing (run make load first)")
    if refusal:  # keep every earlier insights file as it is
        problems.add(f"{refusal}; no insights file was replaced")
        return problems
    try:  # the schema brought up to date once, before the workers read
        open_db(ws.db_path).conn.close()
    except sqlite3.Error as exc:  # no data: keep every earlier insights file as it is
        problems.add(f"{ws.db_path}: cannot read ({exc})")
        return problems
    lines: list[str] = []
    docs: list[dict] = []
    long_tail: dict[str, str] = {}
    written = unchanged = 0
    results, cross, day7_posts, hits, priors_problem = analyze_all(ws, configs)
    if priors_problem:
        problems.add(priors_problem)
    for account, result in results:
        if isinstance(result, str):  # one account's failure must not cost the others their files
            problems.add(f"{ws.insights_path(account)}: analysis failed ({result})")
            continue
        doc = result
        docs.append(doc)
        for fmt, fid in long_tail_formats(doc["findings"]).items():
            long_tail.setdefault(fmt, f"{account}: {fid}")
    # follow-ups of applied changes and the beliefs for exploration need every account's model
    # (accounts without a change are its control): scripts/analysis/followups.py, docs/followups.md
    for line in close_the_loop(ws, configs, docs, day7_posts):
        problems.add(line)
    for doc in docs:
        account = doc["account"]
        try:
            if write_insights(ws.insights_path(account), doc):
                written += 1
            else:
                unchanged += 1
        except WriteFailed as exc:
            problems.add(str(exc))
            continue
        lines += summary_lines(account, doc["findings"])
    try:  # last; a failure here is one line too, and the step exits non-zero so Make retries
        lines += summary_lines("across accounts", analyze_across(ws, docs, cross, long_tail))
    except WriteFailed as exc:
        problems.add(str(exc))
    except Exception as exc:
        problems.add(f"{ws.all_insights_path}: analysis failed ({type(exc).__name__}: {exc})")
    if not quiet:
        print("\n".join(lines))
        print(f"analyze: wrote {written} account files, {unchanged} unchanged (from the cache: phase one of "
              f"{hits['phase one']}, findings of {hits['findings']}), and {ws.all_insights_path}")
    return problems
