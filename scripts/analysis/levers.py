"""Every lever comparison of every account, estimated once and pooled across accounts.

Phase one, per account (in the analysis workers): one LeverModel per platform and metric, and from
each model the account's own estimate of every level against the lever's other levels, every pair
of levels, and every slide-count cut. Phase two, across accounts: each family (platform, metric,
lever) pooled by scripts/analysis/pooling.py. The dimensions then read an account's shrunk estimates
through Evidence, which also says whether a level really stands apart from the others.

The guard: against "the other levels", one strong level makes every other level look worse (and
one weak level makes the rest look better). So a level's difference counts only if it still holds
with the other level that helps it most left out of the baseline (the highest one for a "worse",
the lowest for a "better", by the pooled estimates). That leave-one-out contrast is pooled across
accounts like the rest, and a claim needs both: its p is the larger of the two (an intersection-
union test, valid without any correction), so the file's Benjamini-Hochberg family covers the
guard too. When the leave-one-out contrast is not clear even on its own (p >= PAIR_ALPHA), the
finding names the level that stands out and has no direction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scripts.analysis import stats
from scripts.analysis.data import PRIMARY_METRIC, PlatformPosts
from scripts.analysis.model import LEVERS, RATE_METRICS, LeverModel, response
from scripts.analysis.pooling import Direct, Family, Prior, Shrunk, fit_prior, prior_holds, shrink

Key = tuple[str, str, str]          # (platform, metric, lever)
SLIDE_CUTS = "slides_min"           # the family of "N or more slides against fewer" cuts
ENGAGEMENT = "engagement_rate_d7"
PAIR_ALPHA = 0.05                   # the leave-one-out contrast must be clear at this (two-sided) level
MIN_RATE_POSTS = 4 * stats.MIN_GROUP  # a rate model needs this many posts with views


def platform_metrics(posts: PlatformPosts) -> list[str]:
    """The platform's metric first, then the per-view rates where enough posts have views."""
    metrics = [f"{PRIMARY_METRIC[posts.platform]}_d7"]
    for metric in (ENGAGEMENT, *RATE_METRICS):
        if np.isfinite(response(posts, metric)).sum() >= MIN_RATE_POSTS:
            metrics.append(metric)
    return metrics


def lever_metrics(metrics: list[str]) -> list[str]:
    """The metrics the levers are judged on: the platform's own, and engagement where views exist."""
    return [m for m in metrics if m not in RATE_METRICS]


Models = dict[str, dict[str, LeverModel]]   # platform -> metric -> model


def build_models(platforms: dict[str, PlatformPosts]) -> Models:
    return {platform: {metric: LeverModel(posts, metric) for metric in platform_metrics(posts)}
            for platform, posts in platforms.items()}


def _direct(estimate: stats.Estimate | None, n_in: int, n_out: int) -> Direct | None:
    if estimate is None or not math.isfinite(estimate.se) or estimate.se <= 0:
        return None
    return Direct(estimate.value, estimate.se, n_in, n_out)


def slide_cuts(model: LeverModel) -> dict[int, tuple[set[str], set[str]]]:
    counts = [int(level) for level in model.levels["slides"]]
    return {n: ({str(c) for c in counts if c >= n}, {str(c) for c in counts if c < n}) for n in counts[1:]}


@dataclass
class AccountEstimates:
    """One account's own estimates: per family, level -> Direct, and (level, left out) -> Direct."""
    levels: dict[Key, dict[str, Direct]] = field(default_factory=dict)
    left_out: dict[Key, dict[tuple[str, str], Direct]] = field(default_factory=dict)


def account_estimates(models: Models) -> AccountEstimates:
    found = AccountEstimates()
    for platform, by_metric in models.items():
        for metric, model in by_metric.items():
            for lever in LEVERS:
                key = (platform, metric, lever)
                sizable = model.sizable(lever)
                estimates = model.all_versus_others(lever)
                found.levels[key], found.left_out[key] = {}, {}
                for level in sizable:
                    n_in = model.count(lever, {level})
                    n_out = model.count(lever, set(sizable) - {level})
                    d = _direct(estimates.get((level, None)), n_in, n_out)
                    if d is not None and min(n_in, n_out) >= stats.MIN_GROUP:
                        found.levels[key][level] = d
                for level in found.levels[key] if len(sizable) > 2 else ():
                    for other in sizable:
                        if other != level:
                            d = _direct(estimates.get((level, other)), model.count(lever, {level}),
                                        model.count(lever, set(sizable) - {level, other}))
                            if d is not None:
                                found.left_out[key][(level, other)] = d
            cuts = {}
            for n, (above, below) in slide_cuts(model).items():
                n_in, n_out = model.count("slides", above), model.count("slides", below)
                if min(n_in, n_out) >= stats.MIN_GROUP:
                    d = _direct(model.compare("slides", above, below), n_in, n_out)
                    if d is not None:
                        cuts[str(n)] = d
            found.levels[(platform, metric, SLIDE_CUTS)] = cuts
    return found


@dataclass
class Pooled:
    """Every family pooled, and per family the leave-one-out contrasts the guard reads; `priors` are
    the cross-account sides used, by prior_name (kept ones where they still held)."""
    families: dict[Key, Family]
    guards: dict[Key, tuple[Family, dict[tuple[str, str, bool], str]]]   # (account, level, higher) -> left out
    priors: dict[str, Prior] = field(default_factory=dict)


def prior_name(key: Key, guard: bool = False) -> str:
    return "/".join(("guard", *key) if guard else key)


def pool_accounts(estimates: dict[str, AccountEstimates], kept: dict[str, Prior] | None = None) -> Pooled:
    """Every family pooled across the accounts. `kept`: the priors of an earlier run, each used again
    instead of the refitted one while it still holds (pooling.prior_holds), so that one account's new
    posts leave the other accounts' findings as they were."""
    kept, priors = kept or {}, {}

    def pooled(name: str, by_account: dict[str, dict[str, Direct]]) -> Family:
        fitted, old = fit_prior(by_account), kept.get(name)
        priors[name] = old if old is not None and prior_holds(old, fitted) else fitted
        return shrink(priors[name], by_account)

    keys = sorted({key for e in estimates.values() for key in e.levels})
    families = {key: pooled(prior_name(key), {a: e.levels[key] for a, e in estimates.items() if e.levels.get(key)})
                for key in keys}
    guards = {}
    for key in keys:
        by_account, chosen = _guard_contrasts(key, families[key], estimates)
        guards[key] = (pooled(prior_name(key, guard=True), by_account), chosen)
    return Pooled(families, guards, priors)


def _guard_contrasts(key: Key, family: Family, estimates: dict[str, AccountEstimates]):
    """Per account and level, the other level (of the account's own) that helps each direction most,
    by the pooled means, and those leave-one-out contrasts, to be pooled across the accounts that share them."""
    means = {level: post.mean for level, post in family.common.items()}
    chosen, by_account = {}, {}
    for account, e in estimates.items():
        own = e.left_out.get(key, {})
        for level in {level for level, _ in own}:
            others = {other: means.get(other, 0.0) for l, other in own if l == level}
            for higher, pick in ((True, min), (False, max)):
                other = pick(others, key=lambda o: (others[o], o))
                chosen[(account, level, higher)] = other
                # one key per level and direction, whichever level each account leaves out: the
                # same question ("without its strongest help"), pooled over every account with the level
                by_account.setdefault(account, {})[_guard_key(level, higher)] = own[(level, other)]
    return by_account, chosen


def _guard_key(level: str, higher: bool) -> str:
    return f"{level}|{'up' if higher else 'down'}"


def _guard_p(shrunk: Shrunk | None, higher: bool) -> float:
    """The p of the leave-one-out contrast in the claimed direction (1 when it points the other way)."""
    if shrunk is None or (shrunk.posterior.mean > 0) != higher:
        return 1.0
    return min(1.0, 2 * shrunk.posterior.lfsr)


@dataclass
class Evidence:
    """What one account's dimensions read: its shrunk estimates and the guard."""
    account: str
    pooled: Pooled
    _levels: dict[Key, dict[str, Shrunk]] = field(default_factory=dict, repr=False)

    @property
    def families(self) -> dict[Key, Family]:
        return self.pooled.families

    def level(self, key: Key, level: str) -> Shrunk | None:
        return self.levels(key).get(level)

    def levels(self, key: Key) -> dict[str, Shrunk]:
        """The account's shrunk estimates of the family's levels (computed once per family)."""
        if key not in self._levels:
            family = self.families.get(key)
            self._levels[key] = family.account_levels(self.account) if family else {}
        return self._levels[key]

    def tau(self, key: Key) -> float | None:
        family = self.families.get(key)
        return family.tau_median if family else None

    def guard(self, key: Key, level: str, higher: bool) -> tuple[float | None, str | None]:
        """The p of the level's difference with the level that helps it most left out of the
        baseline, and that level; (None, None) with two levels only (no third to stand out)."""
        family, chosen = self.pooled.guards.get(key, (None, {}))
        other = chosen.get((self.account, level, higher))
        if other is None:
            return None, None
        return _guard_p(family.shrunk(self.account, _guard_key(level, higher)), higher), other
