"""make analyze: the ten analysis dimensions, per account and across accounts, into data/insights/.

Writes data/insights/<account>.json for every account with a valid config and, last,
data/insights/all.json (the cross-account findings). Every file is checked against
schemas/insights.schema.json before it is written (atomically). One account that fails is reported
and the others still get their files; the step then exits non-zero. Accounts are read and analyzed
in worker processes, one per usable CPU; the files do not depend on how many.

Incremental (docs/analyze.md, "The phase-one cache"): phase one of an account (its data read and its
models fitted) is kept in data/cache/analyze/<account>.pkl, keyed by a fingerprint of everything it
depends on (its rows in the database, its config, the analysis code and schema, the libraries), and
reused while that fingerprint holds. Pooling, phase two, the cross-account findings and the
follow-ups always run, on every account, because one account's new data moves every account's pooled
estimates. A file whose content is unchanged apart from generated_at is not rewritten.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import pickle
import platform
import re
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import numpy
import scipy
from threadpoolctl import threadpool_limits

from scripts.analysis.behaviour import growth, save_vs_share, timing
from scripts.analysis.content import failures, formats, hooks, pillars, slide_count
from scripts.analysis.data import PRIMARY_METRIC, AccountData, read_account
from scripts.analysis.findings import Candidate, finalize
from scripts.analysis.followups import close_the_loop
from scripts.core.findings import CONFIDENCE_LEVELS, finding_rank
from scripts.analysis.levers import AccountEstimates, Evidence, account_estimates, build_models, pool_accounts
from scripts.analysis.portfolio import cross_account, exploration
from scripts.core.config import AccountConfig, load_accounts
from scripts.core.cpus import usable_cpus
from scripts.core.db import missing_data, open_db
from scripts.core.files import WriteFailed, hash_files, read_bytes_bounded, write_bytes_atomic, write_text_atomic
from scripts.core.problems import Problems
from scripts.core.schemas import schema_problem
from scripts.core.timeutil import to_iso, utc_now
from scripts.core.workspace import PROJECT_DIR, SCHEMA_DIR, SQL_DIR, Workspace

INSIGHTS_SCHEMA = json.loads((SCHEMA_DIR / "insights.schema.json").read_text())
# the same schema with the findings' "$ref" written in place: resolving the reference again for each
# of thousands of findings took a third of the checking time
_validator = jsonschema.Draft202012Validator({**INSIGHTS_SCHEMA, "properties": {
    **INSIGHTS_SCHEMA["properties"],
    "findings": {**INSIGHTS_SCHEMA["properties"]["findings"], "items": INSIGHTS_SCHEMA["$defs"]["finding"]}}})
ALL = "all"
VOLUME_METRICS = tuple(f"{m}_d7" for m in PRIMARY_METRIC.values())  # also their cross-account _lift
SUMMARY_TOP = 3


def account_candidates(data: AccountData, config: AccountConfig, models: dict, ev: Evidence) -> list[Candidate]:
    """Every comparison the nine per-account dimensions make for one account."""
    candidates: list[Candidate] = []
    for platform, posts in data.platforms.items():
        by_metric = models[platform]
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
    problem = schema_problem(_validator, doc)
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
# An entry is CACHE_MAGIC, the HMAC-SHA256 of key and pickle under this user's secret (signing_key),
# the key, then the pickle of (data, models, estimates). Anything else (a torn, truncated or foreign file, another key, a pickle that does
# not load) is a miss: the account is read and modelled again and the entry rewritten. The cache
# only ever saves time; what is in it never decides a result (the key covers every input).
CACHE_MAGIC = b"account-analytics analyze phase-one cache v1\n"
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
        digest.update(repr(db.execute(sql, {"account": account}).fetchall()).encode())
    return digest.hexdigest()


def signing_key() -> bytes | None:
    """The secret that signs cache entries, kept outside every workspace (in the user's cache folder,
    mode 0600, made once): a pickle runs code when it is loaded, so only an entry this machine's
    user wrote is ever unpickled, never one planted in or copied into a workspace. None (no cache)
    when it cannot be read or made."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "account-analytics"
    path = folder / "cache-key"
    try:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
        key = read_bytes_bounded(path, 64)
        return key if len(key) == 32 else None
    except (OSError, ValueError):
        return None


def entry_signature(secret: bytes, key: str, payload: bytes) -> bytes:
    return hmac.new(secret, key.encode() + b"\n" + payload, hashlib.sha256).hexdigest().encode()


def read_cache(path: Path, key: str, account: str) -> tuple | None:
    """The cached phase one of an account under this key, or None (a miss) whatever is wrong; the
    pickle is loaded only when its signature is this machine's (signing_key)."""
    try:
        secret = _work.get("secret") or signing_key()
        if secret is None:
            return None
        blob = read_bytes_bounded(path, CACHE_MAX_BYTES)  # a regular file only, never a device
        if not blob.startswith(CACHE_MAGIC):
            return None
        signature, stored_key, payload = blob[len(CACHE_MAGIC):].split(b"\n", 2)
        if stored_key != key.encode() or not hmac.compare_digest(signature, entry_signature(secret, key, payload)):
            return None
        result = pickle.loads(payload)
        if isinstance(result, tuple) and len(result) == 3 and isinstance(result[0], AccountData) \
                and result[0].account == account and isinstance(result[2], AccountEstimates):
            return result
    except Exception:  # a missing, torn or foreign file: recomputed
        pass
    return None


def write_cache(path: Path, key: str, result: tuple) -> None:
    """Atomically; a cache that cannot be written (disk full, read-only) only costs the next run time."""
    try:
        secret = _work.get("secret") or signing_key()
        if secret is None:
            return
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes_atomic(path, CACHE_MAGIC + entry_signature(secret, key, payload) + b"\n"
                           + key.encode() + b"\n" + payload)
    except Exception:
        pass


def prune_cache(ws: Workspace, accounts: list[str]) -> None:
    """Entries of accounts that are gone (renamed, removed, a broken config) are removed."""
    keep = {f"{account}.pkl" for account in accounts}
    try:
        for path in ws.analyze_cache_dir.glob("*.pkl"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
    except OSError:
        pass


# what the analysis workers need, set before they are forked so they inherit it
_work: dict = {}


def _model_one(account: str) -> tuple[str, tuple | str, bool]:
    """An account read and modelled: (data, models, estimates), or the one-line reason it failed;
    and whether it came from the cache. The fingerprint and the data are read in one read
    transaction, so the key stands for the data it is stored with. The connection is the account's
    own and closed before the result is returned: a worker is ended by a signal, and a connection
    left open would leave the -wal and -shm files behind."""
    try:
        ws: Workspace = _work["ws"]
        path = ws.analyze_cache_path(account)
        db = open_db(_work["db_path"], schema=False)
        try:
            db.conn.execute("BEGIN")
            key = phase_one_key(db, ws, account, _work["code"])
            cached = read_cache(path, key, account)
            if cached is not None:
                return account, cached, True
            data = read_account(db, account)
        finally:
            db.conn.close()
        result = (data, *model_account(data))
        write_cache(path, key, result)
        return account, result, False
    except Exception as exc:
        return account, f"{type(exc).__name__}: {exc}", False


def _analyze_one(account: str) -> tuple[str, dict | str]:
    try:
        data, models, _ = _work["inputs"][account]
        ev = Evidence(account, _work["pooled"])
        return account, analyze_account(data, _work["configs"][account], models, ev)
    except Exception as exc:
        return account, f"{type(exc).__name__}: {exc}"


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


def analyze_all(ws: Workspace, configs: dict[str, AccountConfig]) -> tuple[list[tuple], list[Candidate], dict, int]:
    """Every account read, modelled (or taken from the phase-one cache), pooled with the others and
    analyzed, in name order: [(account, document or the reason it failed)], the cross-account
    candidates, each account's day-7 posts per platform (for the follow-ups), and how many
    accounts' phase one came from the cache."""
    accounts = sorted(configs)
    _work.update(db_path=ws.db_path, configs=configs, ws=ws, code=code_fingerprint(), secret=signing_key())
    try:
        modelled, failed, cached = {}, {}, 0
        for account, result, hit in _in_workers(_model_one, accounts):
            (failed if isinstance(result, str) else modelled)[account] = result
            cached += hit
        prune_cache(ws, accounts)
        estimates = {account: result[2] for account, result in modelled.items()}
        _work.update(inputs=modelled, pooled=pool_accounts(estimates))
        docs = {**failed, **dict(_in_workers(_analyze_one, sorted(modelled)))}
        cross = cross_account(_work["pooled"].families, {a: r[1] for a, r in modelled.items()})
        day7 = {account: result[0].platforms for account, result in modelled.items()}
        return [(account, docs[account]) for account in accounts], cross, day7, cached
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
    results, cross, day7_posts, cached = analyze_all(ws, configs)
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
        print(f"analyze: wrote {written} account files, {unchanged} unchanged (phase one of {cached} "
              f"from the cache), and {ws.all_insights_path}")
    return problems
