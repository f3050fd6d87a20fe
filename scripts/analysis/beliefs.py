"""The analyzer's beliefs about format and pillar effects, for the generator's exploration.

Per account, on one platform (TikTok's day-7 views where it has posts, else the platform with the
most): the lever model log(1 + metric) ~ format + hook style + pillar + CTA + slides + time block +
weekday + hook score is fitted by least squares (each family alone below MIN_DF residual df). A
post's metric is residualised for every other lever: r = y - fitted + the post's own format (or
pillar) term, centred on the account's mean; the log metric is first capped at the account's
99th percentile, so one viral post cannot lock the generator into its format. Each format k then
gets a Gaussian posterior
(research/statistics.md (f)): prior N(0, PRIOR_SD^2) on the log-effect against the account's
average, residual variance s^2 from the fit,
    1/v_k = 1/PRIOR_SD^2 + n_k/s^2,   m_k = v_k * sum(r over k's posts)/s^2.
make beliefs copies them into performance_context.json (format_beliefs, pillar_beliefs,
exploration_floor, beliefs_version), where choose_format draws from them (Thompson sampling).

Posts whose generator folder records a randomised pick (meta.json `format_choice`, written by
record_choice with the pick's propensity) give a second, unconfounded estimate: the Hájek
inverse-propensity mean per format, sum(y/p)/sum(1/p), against the mean over formats, with a
seeded bootstrap interval. It is reported under `randomised` once there are IPW_MIN_POSTS such
posts and IPW_MIN_ARM in a format; the model-based beliefs can be confounded by whatever else the
generator changed, these cannot.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat

import numpy as np

from scripts.analysis import stats
from scripts.analysis.data import PRIMARY_METRIC, PlatformPosts
from scripts.analysis.model import LEVERS, lever_labels
from scripts.core.files import UnreadableJson, read_json
from scripts.core.signed import read_entry, write_entry
from scripts.core.timeutil import parse_utc

PRIOR_SD = 0.5              # a format is a priori within about 2.7x of the account's average (2 SD)
EXPLORATION_FLOOR = 0.05    # every format keeps at least 5 % of the picks (IPW weights <= 20)
MIN_DF = 30
IPW_MIN_POSTS = 30
IPW_MIN_ARM = 5
IPW_RESAMPLES = 400
PICKS_MAGIC = b"account-analytics randomised picks cache v1\n"   # {folder: [mtime_ns, size, pick or None]}
PICKS_MAX_BYTES = 64 * 2**20
IPW_WINDOW_DAYS = 365       # randomised picks are looked for among posts this recent
WINSOR_PERCENTILE = 99


def _platform(platforms: dict[str, PlatformPosts]) -> str | None:
    usable = [p for p, posts in platforms.items() if len(posts)]
    return max(usable, key=lambda p: (p == "tiktok", len(platforms[p]))) if usable else None


def _design(labels: dict, score: np.ndarray, use: np.ndarray, families: list[str]):
    """Intercept, reference-coded levels of each family, hook score; (x, {family: {level: column}})."""
    columns, where = [np.ones(int(use.sum()))], {}
    for family in families:
        values = labels[family][use]
        where[family] = {}
        for level in sorted(set(values))[1:]:
            where[family][level] = len(columns)
            columns.append((values == level).astype(float))
    if len(families) > 1:
        s = score[use]
        columns.append(s - s.mean())
    return np.column_stack(columns), where


def winsorised(y: np.ndarray) -> np.ndarray:
    """Log metrics capped at the account's WINSOR_PERCENTILE (research/statistics.md (f) step 6):
    one viral post must not lock the generator into its format."""
    known = y[np.isfinite(y)]
    return np.minimum(y, np.percentile(known, WINSOR_PERCENTILE)) if len(known) else y


def residualised(posts: PlatformPosts, family: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(levels, residualised centred log metric, residual variance) of the posts the model uses."""
    labels = lever_labels(posts)
    y = winsorised(np.log1p(posts.primary))
    full = np.isfinite(y) & np.isfinite(posts.hook_score)
    for values in labels.values():
        full &= values != None  # noqa: E711
    for use, families in ((full, list(LEVERS)),
                          (np.isfinite(y) & (labels[family] != None), [family])):  # noqa: E711
        if use.sum() < 3:
            continue
        x, where = _design(labels, posts.hook_score, use, families)
        if x.shape[0] <= x.shape[1]:
            continue
        fit = stats.least_squares(x, y[use])
        if fit is None or (len(families) > 1 and fit.df < MIN_DF):
            continue
        residual = y[use] - x @ fit.beta
        levels = labels[family][use]
        own = np.array([fit.beta[where[family][v]] if v in where[family] else 0.0 for v in levels])
        r = own + residual
        return levels, r - r.mean(), max(float(residual @ residual) / fit.df, 1e-6)
    return None


def posterior(levels: np.ndarray | None, r: np.ndarray | None, variance: float, names: list[str]) -> dict:
    """name -> {mean, sd, posts}: the Gaussian update of the module docstring (the prior alone for
    a name without posts)."""
    out = {}
    for name in names:
        mine = r[levels == name] if levels is not None else np.array([])
        precision = 1 / PRIOR_SD ** 2 + len(mine) / variance
        v = 1 / precision
        mean = v * float(mine.sum()) / variance
        out[name] = {"mean": round(float(np.clip(mean, -10, 10)), 4), "sd": round(max(math.sqrt(v), 1e-4), 4),
                     "posts": int(len(mine))}
    return out


def randomised_picks(ws, account: str, posts: PlatformPosts, db, through: str | None) -> dict[str, dict]:
    """post_id -> the pick record of posts whose folder's meta.json holds a randomised format choice
    (not overridden, propensity in (0, 1]). Only matched posts of the last IPW_WINDOW_DAYS are read;
    a meta.json unchanged since the last run (its size and modification time) is not read again
    (a signed entry, scripts/core/signed.py: data/cache/analyze/<account>.picks)."""
    end = parse_utc(through)
    rows = db.execute("SELECT post_id, output_folder, published_at FROM posts WHERE account_name = ? "
                      "AND platform = ? AND output_folder IS NOT NULL", [account, posts.platform]).fetchall()
    wanted = set(posts.post_id.tolist())
    cache_path = ws.picks_cache_path(account)
    known, seen, found = read_entry(cache_path, PICKS_MAGIC, account, PICKS_MAX_BYTES) or {}, {}, {}
    base = str(ws.account_dir(account))   # plain strings: pathlib's joins were half the time of 16,000 folders
    for post_id, folder, published in rows:
        if post_id not in wanted:
            continue
        moment = parse_utc(published)
        if moment is None or (end and (end - moment).days > IPW_WINDOW_DAYS):
            continue
        path = os.path.join(base, folder, "meta.json")
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        stamp = [info.st_mtime_ns, info.st_size]
        entry = known.get(folder)
        pick = entry[2] if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp else _meta_pick(path)
        seen[folder] = [*stamp, pick]
        if _usable_pick(pick):
            found[post_id] = pick
    if seen != known:
        write_entry(cache_path, PICKS_MAGIC, account, seen)
    return found


def _meta_pick(path) -> dict | None:
    """The part of a folder's meta.json pick the estimate uses, or None."""
    try:
        meta = read_json(path, max_bytes=4 * 2**20)
    except (UnreadableJson, OSError):
        return None
    pick = meta.get("format_choice") if isinstance(meta, dict) else None
    return {"format": pick["format"], "propensity": pick["propensity"]} if _usable_pick(pick) else None


def _usable_pick(pick) -> bool:
    return (isinstance(pick, dict) and not pick.get("overridden") and isinstance(pick.get("format"), str)
            and type(pick.get("propensity")) in (int, float) and 0 < pick["propensity"] <= 1)


def exploring(ws, account: str) -> bool:
    try:
        context = read_json(ws.context_path(account))
    except (UnreadableJson, OSError):
        return False
    return isinstance(context, dict) and "format_beliefs" in context


def ipw(posts: PlatformPosts, picks: dict[str, dict], key: str) -> dict:
    """Hájek IPW per format over the randomised posts (module docstring)."""
    y = winsorised(np.log1p(posts.primary))
    index = [i for i, pid in enumerate(posts.post_id) if pid in picks and np.isfinite(y[i])]
    arms = np.array([picks[posts.post_id[i]]["format"] for i in index], dtype=object)
    p = np.array([float(picks[posts.post_id[i]]["propensity"]) for i in index])
    values = y[index]
    counts = {arm: int((arms == arm).sum()) for arm in sorted(set(arms))}
    result = {"posts": len(index), "min_posts": IPW_MIN_POSTS, "min_per_format": IPW_MIN_ARM, "formats": {},
              "best": None}
    usable = [arm for arm, n in counts.items() if n >= IPW_MIN_ARM]
    if len(index) < IPW_MIN_POSTS or len(usable) < 2:
        result["formats"] = {arm: {"n": n} for arm, n in counts.items()}
        return result

    code = np.array([usable.index(a) if a in usable else len(usable) for a in arms])
    k = len(usable) + 1

    def effects(rows: np.ndarray) -> np.ndarray:
        """Hájek means of the usable arms (each row of `rows` one resample), minus their mean."""
        rows = np.atleast_2d(rows)
        offset = k * np.arange(len(rows))[:, None]
        w = 1 / p[rows]
        num = np.bincount((code[rows] + offset).ravel(), (w * values[rows]).ravel(), k * len(rows)).reshape(-1, k)
        den = np.bincount((code[rows] + offset).ravel(), w.ravel(), k * len(rows)).reshape(-1, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (num / den)[:, :-1]   # an arm a resample missed is NaN (percentile_ci allows a few)
        return means - np.nanmean(np.where(np.isfinite(means), means, 0.0), axis=1, keepdims=True)

    point = effects(np.arange(len(index)))[0]
    rng = np.random.default_rng(stats.seed_for(key))
    boot = effects(rng.integers(0, len(index), (IPW_RESAMPLES, len(index))))
    for j, arm in enumerate(usable):
        ci = stats.percentile_ci(boot[:, j])
        result["formats"][arm] = {"n": counts[arm], "mean": round(float(point[j]), 4),
                                  "ci": [round(ci[0], 4), round(ci[1], 4)] if ci else None}
    for arm in set(counts) - set(usable):
        result["formats"][arm] = {"n": counts[arm]}
    result["best"] = usable[int(np.argmax(point))]
    return result


def account_beliefs(ws, db, account: str, config, platforms: dict[str, PlatformPosts],
                    through: str | None) -> dict | None:
    """The insights file's `beliefs` for one account, or None without posts."""
    platform = _platform(platforms)
    if platform is None:
        return None
    posts = platforms[platform]
    out = {"platform": platform, "metric": f"{PRIMARY_METRIC[platform]}_d7", "posts": len(posts)}
    for family, names, key in (("format", list(config.formats), "formats"),
                               ("content_pillar", sorted(config.content_pillars), "pillars")):
        fitted = residualised(posts, family)
        levels, r, variance = fitted if fitted else (None, None, 1.0)
        out[key] = posterior(levels, r, variance, names)
    out["exploration_floor"] = min(EXPLORATION_FLOOR, 1 / max(len(config.formats), 1))
    body = json.dumps([out["formats"], out["pillars"], out["exploration_floor"], out["metric"]], sort_keys=True)
    out["version"] = hashlib.sha1(body.encode()).hexdigest()[:12]
    # the folders are read only once the generator can have made randomised picks (beliefs in its context)
    picks = randomised_picks(ws, account, posts, db, through) if exploring(ws, account) else {}
    out["randomised"] = ipw(posts, picks, f"beliefs/{account}/{platform}/ipw")
    return out

