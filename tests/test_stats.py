"""scripts/stats.py against scipy's reference implementations, brute force and hand-computed values."""
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from scripts import stats


def lognormal(seed: int, n: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(1000 * scale), 1.0, n)


@pytest.mark.parametrize("seed", range(5))
def test_mann_whitney_matches_scipy_asymptotic(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 40, 25).astype(float), rng.integers(0, 50, 37).astype(float)  # many ties
    assert stats.mann_whitney(a, b) == pytest.approx(scipy_stats.mannwhitneyu(a, b, method="asymptotic").pvalue,
                                                     rel=1e-12)


def test_bootstrap_median_draws_match_resampling():
    """The exact-distribution draws give the same interval as brute-force resampling."""
    values = np.sort(lognormal(1, 41))
    draws = stats._bootstrap_medians(values, np.random.default_rng(2))
    brute = np.median(values[np.random.default_rng(3).integers(0, 41, (20000, 41))], axis=1)
    assert np.percentile(draws, [2.5, 50, 97.5]) == pytest.approx(np.percentile(brute, [2.5, 50, 97.5]), rel=0.05)


def test_compare_groups_is_deterministic_and_finds_a_real_ratio():
    a, b = lognormal(4, 60, scale=2.0), lognormal(5, 120)
    first, second = stats.compare_groups(a, b, "key"), stats.compare_groups(a, b, "key")
    assert first == second
    assert first.ci[0] < first.effect < first.ci[1]
    assert first.ci[0] > 1 and first.p < 0.01 and 1.4 < first.effect < 2.9
    assert stats.compare_groups(a, b, "another key").ci != first.ci  # the seed comes from the id
    assert stats.compare_groups(a[: stats.MIN_GROUP - 1], b, "key") is None


def test_comparisons_are_calibrated_when_nothing_differs():
    """Under no difference, about 5% of tests have p < 0.05 and about 95% of intervals hold 1."""
    results = [stats.compare_groups(lognormal(2 * i, 25), lognormal(2 * i + 1, 80), f"null-{i}") for i in range(400)]
    false_positive = np.mean([r.p < 0.05 for r in results])
    coverage = np.mean([r.ci[0] <= 1 <= r.ci[1] for r in results])
    assert 0.02 <= false_positive <= 0.09
    assert 0.91 <= coverage <= 0.99


def test_percentile_ci_matches_numpy_and_refuses_mostly_undefined_draws():
    draws = np.random.default_rng(0).random(999)
    assert stats.percentile_ci(draws) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])))
    draws[:200] = np.inf
    assert stats.percentile_ci(draws) is None


def test_bh_qvalues_by_hand():
    # sorted p: .001 .008 .039 .041 .6 with m = 5: q = min over later ranks of p * m / rank
    assert stats.bh_qvalues([0.039, 0.001, 0.6, 0.008, 0.041]) == pytest.approx([0.05125, 0.005, 0.6, 0.02, 0.05125])
    assert stats.bh_qvalues([]) == []


def test_over_representation_is_fishers_one_sided_test():
    selected = np.array([True] * 10 + [False] * 40)
    trait = np.array([True] * 6 + [False] * 4 + [True] * 8 + [False] * 32)
    result = stats.over_representation(trait[None, :], selected)[0]
    table = [[6, 4], [8, 32]]
    assert result.p == pytest.approx(scipy_stats.fisher_exact(table, alternative="greater").pvalue)
    assert (result.selected_with, result.selected, result.rest_with, result.rest) == (6, 10, 8, 40)
    woolf = (6.5 * 32.5) / (4.5 * 8.5)  # Haldane +0.5
    assert result.odds_ratio == pytest.approx(woolf) and result.ci[0] < woolf < result.ci[1]


def test_heterogeneity_is_cochrans_q():
    assert stats.heterogeneity([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]) == pytest.approx(1.0)
    # two estimates 1.0 apart with standard errors 0.2: Q = 12.5 on 1 df
    assert stats.heterogeneity([0.0, 1.0], [0.2, 0.2]) == pytest.approx(scipy_stats.chi2.sf(12.5, 1))
    assert stats.heterogeneity([0.3], [0.1]) is None


def test_spearman_matches_scipy_with_an_interval_around_it():
    x = np.arange(40, dtype=float)
    y = x + np.random.default_rng(3).normal(0, 15, 40)
    result = stats.spearman(x, y)
    reference = scipy_stats.spearmanr(x, y)
    assert result.rho == pytest.approx(reference.statistic) and result.p == pytest.approx(reference.pvalue)
    assert result.ci[0] < result.rho < result.ci[1]
    assert stats.spearman(np.ones(40), y) is None  # a constant has no rank order


@pytest.mark.parametrize("k, n", [(33, 60), (0, 25), (25, 25), (7, 90)])
def test_proportion_above_matches_scipy_binomtest(k, n):
    result = stats.proportion_above(k, n, 0.3)
    assert result.p == pytest.approx(scipy_stats.binomtest(k, n, 0.3, alternative="greater").pvalue)
    wilson = scipy_stats.binomtest(k, n, 0.3).proportion_ci(confidence_level=0.95, method="wilson")
    assert result.ci == pytest.approx((wilson.low, wilson.high))


def test_none_in_recent():
    assert stats.none_in_recent(30, 0.2) == pytest.approx(0.8 ** 30)


@pytest.mark.parametrize("q, ci, n, expected", [
    (0.001, (1.5, 3.0), 25, "high"),
    (0.001, (1.5, 3.0), 12, "medium"),   # too few posts for high
    (0.001, (0.8, 3.0), 25, "low"),      # the interval includes "no effect"
    (0.03, (1.1, 2.0), 40, "medium"),
    (0.2, (1.1, 2.0), 40, "low"),
    (None, (1.1, 2.0), 40, "low"),
])
def test_confidence_rule(q, ci, n, expected):
    assert stats.confidence(q, ci, 1.0, n) == expected


@pytest.mark.parametrize("seed", range(3))
def test_bh_matches_scipy(seed):
    p = np.random.default_rng(seed).random(40) ** 3
    assert stats.bh_qvalues(list(p)) == pytest.approx(scipy_stats.false_discovery_control(p, method="bh"))


def test_average_ranks_match_scipy():
    values = np.random.default_rng(5).integers(0, 12, 60).astype(float)
    assert stats.average_ranks(values) == pytest.approx(scipy_stats.rankdata(values))


@pytest.mark.parametrize("k, drawn, carriers", [(6, 10, 14), (0, 10, 14), (10, 10, 14), (3, 20, 3)])
def test_hypergeom_tail_matches_scipy(k, drawn, carriers):
    assert stats.hypergeom_tail(k, 50, carriers, drawn) == pytest.approx(
        scipy_stats.hypergeom.sf(k - 1, 50, carriers, drawn), rel=1e-9, abs=1e-15)


def test_chi_square_matches_scipy():
    table = np.array([[20, 3], [2, 19], [11, 12], [9, 14]])
    chi2, p, _, _ = scipy_stats.chi2_contingency(table, correction=False)
    ours_p, cramers_v = stats.chi_square_independence(table)
    assert ours_p == pytest.approx(p) and cramers_v == pytest.approx(math.sqrt(chi2 / table.sum()))


def test_contrast_in_a_one_lever_model_is_the_two_sample_t_test():
    rng = np.random.default_rng(11)
    y = np.concatenate([rng.normal(1.0, 1, 30), rng.normal(0.4, 1, 50)])
    x = np.column_stack([np.ones(80), np.r_[np.ones(30), np.zeros(50)]])
    estimate = stats.contrast(stats.least_squares(x, y), np.array([0.0, 1.0]))
    reference = scipy_stats.ttest_ind(y[:30], y[30:])
    assert estimate.value == pytest.approx(y[:30].mean() - y[30:].mean())
    assert estimate.p == pytest.approx(reference.pvalue)
    low, high = reference.confidence_interval(0.95)
    assert estimate.ci == pytest.approx((low, high))


def test_block_test_is_the_one_way_anova():
    rng = np.random.default_rng(12)
    groups = [rng.normal(mu, 1, n) for mu, n in ((0, 20), (0.5, 25), (0.2, 30))]
    y = np.concatenate(groups)
    level = np.repeat([0, 1, 2], [20, 25, 30])
    x = np.column_stack([np.ones(75), level == 1, level == 2]).astype(float)
    assert stats.block_test(stats.least_squares(x, y), [1, 2]) == pytest.approx(scipy_stats.f_oneway(*groups).pvalue)


def test_a_contrast_the_data_cannot_separate_is_refused():
    x = np.column_stack([np.ones(40), np.r_[np.ones(20), np.zeros(20)], np.r_[np.ones(20), np.zeros(20)]])
    fit = stats.least_squares(x, np.random.default_rng(1).normal(size=40))
    assert stats.contrast(fit, np.array([0.0, 1.0, 0.0])) is None          # two identical columns
    assert stats.contrast(fit, np.array([0.0, 0.5, 0.5])) is not None      # their sum is estimable


def test_adjusted_contrasts_are_calibrated_with_correlated_levers():
    """Nothing matters, two levers are correlated, heavy-ish tails: about 5% of p below 0.05."""
    rng = np.random.default_rng(4)
    p_values = []
    for _ in range(400):
        a = rng.integers(0, 4, 90)
        b = np.where(rng.random(90) < 0.6, a, rng.integers(0, 4, 90))   # b follows a 60% of the time
        x = np.column_stack([np.ones(90)] + [(a == k) for k in (1, 2, 3)] + [(b == k) for k in (1, 2, 3)]).astype(float)
        y = rng.standard_t(5, 90)
        fit = stats.least_squares(x, y)
        p_values.append(stats.contrast(fit, np.array([0, 1.0, 0, 0, 0, 0, 0])).p)
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.09


def test_fixed_effect_pooling_by_hand():
    pooled = stats.fixed_effect([stats.Estimate(1.0, 0.5, 0.05, (0, 2)), stats.Estimate(2.0, 1.0, 0.05, (0, 4))])
    # weights 4 and 1: (4 * 1 + 1 * 2) / 5 = 1.2, se = 1 / sqrt(5)
    assert pooled.value == pytest.approx(1.2) and pooled.se == pytest.approx(1 / math.sqrt(5))
    assert pooled.p == pytest.approx(2 * scipy_stats.norm.sf(1.2 * math.sqrt(5)))
