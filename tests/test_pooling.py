"""The pooling split into its cross-account side (fit_prior) and each account's shrinkage (shrink), and
the kept prior: a prior from an earlier run is used again while it still holds for the data
(pooling.prior_holds), and then moves no account's pooled estimate by more than the tolerance of
its own posterior SD (docs/analyze.md, "The kept prior")."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.analysis import pooling
from scripts.analysis.pooling import Direct, fit_prior, prior_from_json, prior_holds, prior_to_json, shrink

LEVELS = ("habit_list", "how_to", "scripts", "step_guide")


def world(seed: int, accounts: int, tau: float = 0.15, se: float = 0.2) -> dict[str, dict[str, Direct]]:
    """Accounts' own estimates of four levels: true effects around a common one, seen with error."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.3, len(LEVELS))
    out = {}
    for a in range(accounts):
        errors = se * rng.uniform(0.6, 1.6, len(LEVELS))
        truth = common + rng.normal(0, tau, len(LEVELS))
        out[f"account{a:03d}"] = {level: Direct(float(truth[j] + rng.normal(0, errors[j])), float(errors[j]), 30, 90)
                                  for j, level in enumerate(LEVELS)}
    return out


def nudged(estimates, account: str, shift: float) -> dict[str, dict[str, Direct]]:
    """The same estimates with one account's moved by `shift` of their standard errors (its new posts)."""
    moved = {a: dict(levels) for a, levels in estimates.items()}
    moved[account] = {level: Direct(d.value + shift * d.se, d.se, d.n_in, d.n_out) for level, d in estimates[account].items()}
    return moved


def test_a_prior_holds_for_the_data_it_was_fitted_to_and_survives_json_exactly():
    estimates = world(1, 12)
    prior = fit_prior(estimates)
    assert prior_holds(prior, prior) and prior_holds(prior, fit_prior(estimates))
    again = prior_from_json(json.loads(json.dumps(prior_to_json(prior))))
    assert prior_holds(again, prior)
    first, second = shrink(prior, estimates), shrink(again, estimates)
    for account in estimates:
        for level, shrunk in first.account_levels(account).items():
            other = second.shrunk(account, level)
            assert np.array_equal(shrunk.posterior.means, other.posterior.means)
            assert np.array_equal(shrunk.posterior.sds, other.posterior.sds) and shrunk.borrowed == other.borrowed


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), accounts=st.integers(10, 40), shift=st.floats(-0.6, 0.6))
def test_a_kept_prior_moves_no_pooled_estimate_by_more_than_the_tolerance(seed, accounts, shift):
    """One account's estimates move (its new posts); where the earlier prior still holds, every
    account's pooled estimate with it is within MEAN_TOLERANCE of its SD of the estimate with the
    refitted prior, at every tau that carries weight, and the tau posterior within WEIGHT_TOLERANCE."""
    before = world(seed, accounts)
    after = nudged(before, "account000", shift)
    kept, refitted = fit_prior(before), fit_prior(after)
    if not prior_holds(kept, refitted):
        return
    with_kept, with_refitted = shrink(kept, after), shrink(refitted, after)
    counts = np.maximum(kept.weights, refitted.weights) > pooling._COUNTS
    for account in after:
        for level, exact in with_refitted.account_levels(account).items():
            near = with_kept.shrunk(account, level).posterior
            if len(exact.posterior.means) == 1:   # a level the accounts disagree on: their own estimates
                assert near.means[0] == exact.posterior.means[0]
                continue
            drift = np.abs(near.means - exact.posterior.means) / exact.posterior.sds
            assert (drift[counts] <= pooling.MEAN_TOLERANCE + 1e-9).all()


def test_with_many_accounts_one_accounts_new_posts_keep_the_prior_and_with_few_they_refit_it():
    many, few = world(3, 50), world(3, 4)
    assert prior_holds(fit_prior(many), fit_prior(nudged(many, "account000", 0.3)))
    assert not prior_holds(fit_prior(few), fit_prior(nudged(few, "account000", 1.0)))


def test_a_large_move_a_new_level_a_new_account_or_a_level_no_longer_pooled_refits():
    estimates = world(5, 20)
    prior = fit_prior(estimates)
    assert not prior_holds(prior, fit_prior(nudged(estimates, "account000", 8.0)))
    with_level = {a: dict(levels) for a, levels in estimates.items()}
    with_level["account000"]["boring_habits"] = Direct(0.1, 0.2, 30, 90)
    assert not prior_holds(prior, fit_prior(with_level))
    assert not prior_holds(prior, fit_prior({**estimates, "account999": estimates["account000"]}))
    # one account far off on every level: the accounts now disagree, so those levels are not pooled
    apart = {a: dict(levels) for a, levels in estimates.items()}
    apart["account001"] = {level: Direct(d.value + 3.0, 0.05, 30, 90) for level, d in estimates["account001"].items()}
    assert not any(lp.pooled for lp in fit_prior(apart).levels.values())
    assert not prior_holds(prior, fit_prior(apart))


def test_shrinkage_is_the_normal_normal_posterior_at_each_tau():
    estimates = world(7, 5)
    prior = fit_prior(estimates)
    family = shrink(prior, estimates)
    level, account = "how_to", "account002"
    own = estimates[account][level]
    lp = prior.levels[level]
    t = 40                                        # one point of the grid
    tau2 = pooling.TAU_GRID[t] ** 2
    b = np.array([estimates[a][level].value for a in lp.accounts])
    v = np.array([estimates[a][level].se ** 2 for a in lp.accounts]) + tau2
    mu = (b / v).sum() / (1 / v).sum()           # the common mean given tau (flat prior on it)
    share = own.se ** 2 / (own.se ** 2 + tau2)   # what the account borrows
    shrunk = family.shrunk(account, level).posterior
    assert shrunk.means[t] == pytest.approx(mu + (1 - share) * (own.value - mu))
    assert shrunk.sds[t] == pytest.approx(math.sqrt((1 - share) * own.se ** 2 + share ** 2 / (1 / v).sum()))


@pytest.mark.parametrize("damage", [
    lambda d: d.update(weights=[float("nan")] * len(pooling.TAU_GRID)),
    lambda d: d.update(weights=[1.0]),
    lambda d: d.update(weights=[-1.0] + [2.0 / (len(pooling.TAU_GRID) - 1)] * (len(pooling.TAU_GRID) - 1)),
    lambda d: d.update(weights="not a list"),
    lambda d: d.update(tau_median=99.0),
    lambda d: d.update(tau_median=True),
    lambda d: d.pop("levels"),
    lambda d: next(iter(d["levels"].values())).update(total=[0.0] * len(pooling.TAU_GRID)),
    lambda d: next(iter(d["levels"].values())).update(mu=[1] * len(pooling.TAU_GRID)),
    lambda d: next(iter(d["levels"].values())).update(pooled="yes"),
    lambda d: next(iter(d["levels"].values())).update(accounts=[]),
    lambda d: next(iter(d["levels"].values())).update(accounts=[7]),
])
def test_a_stored_prior_this_code_could_not_have_written_is_refused(damage):
    doc = prior_to_json(fit_prior(world(2, 6)))
    damage(doc)
    with pytest.raises((ValueError, KeyError, TypeError, AttributeError)):
        prior_from_json(doc)
