"""scripts/stats.py: our behaviour around the scipy.stats calls. Edge cases, direction of effects,
hand-computed values, and calibration when nothing differs (about 5% of p below 0.05, about 95%
interval coverage) over seeded draws. What scipy computes is not re-checked against scipy."""
import math

import numpy as np
import pytest

from scripts.analysis import stats


def lognormal(seed: int, n: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(1000 * scale), 1.0, n)


def normal_two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


# --- Mann-Whitney and the comparison of two groups ---------------------------------------------

def test_mann_whitney_by_hand_with_ties_and_continuity_correction():
    a, b = np.array([1, 2, 2, 3, 5.0]), np.array([2, 4, 4, 6, 7, 8.0])
    # pooled ranks: 1 -> 1, the three 2s -> 3, 3 -> 5, the two 4s -> 6.5, 5 -> 8, ...; rank sum of A = 20,
    # U = 20 - 5 * 6 / 2 = 5 against a mean of 5 * 6 / 2 = 15; ties: (3^3 - 3) + (2^3 - 2) = 30, so the
    # variance is 5 * 6 / 12 * (12 - 30 / (11 * 10)); the continuity correction takes 0.5 off |U - 15|
    z = (abs(5 - 15) - 0.5) / math.sqrt(5 * 6 / 12 * (12 - 30 / 110))
    assert stats.mann_whitney(a, b) == pytest.approx(normal_two_sided_p(z), rel=1e-12)
    assert stats.mann_whitney(b, a) == pytest.approx(stats.mann_whitney(a, b), rel=1e-12)  # symmetric


def test_mann_whitney_of_identical_values_is_one():
    assert stats.mann_whitney(np.full(12, 3.0), np.full(15, 3.0)) == 1.0


def test_compare_groups_is_deterministic_and_finds_a_real_ratio():
    a, b = lognormal(4, 60, scale=2.0), lognormal(5, 120)
    first, second = stats.compare_groups(a, b, "key"), stats.compare_groups(a, b, "key")
    assert first == second
    assert first.ci[0] < first.effect < first.ci[1]
    assert first.ci[0] > 1 and first.p < 0.01 and 1.4 < first.effect < 2.9
    assert (first.n_a, first.n_b) == (60, 120)
    assert first.median_a == pytest.approx(np.median(a)) and first.median_b == pytest.approx(np.median(b))
    assert stats.compare_groups(a, b, "another key").ci != first.ci  # the seed comes from the id


def test_compare_groups_direction_and_kinds():
    a, b = lognormal(4, 60, scale=2.0), lognormal(5, 120)
    ratio, reverse = stats.compare_groups(a, b, "k"), stats.compare_groups(b, a, "k")
    assert reverse.effect == pytest.approx(1 / ratio.effect) and reverse.ci[1] < 1 and reverse.p == ratio.p
    difference = stats.compare_groups(np.log(a), np.log(b), "k", kind="difference")
    assert difference.effect == pytest.approx(np.median(np.log(a)) - np.median(np.log(b)))
    assert difference.ci[0] > 0 and difference.ci[0] < difference.effect < difference.ci[1]


def test_compare_groups_needs_min_group_posts_on_each_side():
    a, b = lognormal(1, 30), lognormal(2, 30)
    assert stats.compare_groups(a[: stats.MIN_GROUP - 1], b, "k") is None
    assert stats.compare_groups(a, b[: stats.MIN_GROUP - 1], "k") is None
    assert stats.compare_groups([], b, "k") is None
    assert stats.compare_groups(a[: stats.MIN_GROUP], b[: stats.MIN_GROUP], "k") is not None


def test_compare_groups_leaves_unknown_values_out():
    a, b = lognormal(1, 30), lognormal(2, 40)
    with_gaps = list(a) + [None, float("nan")]
    assert stats.compare_groups(with_gaps, np.r_[b, np.nan], "k") == stats.compare_groups(a, b, "k")
    too_few = list(a[: stats.MIN_GROUP - 1]) + [None] * 5   # 14 entries, 9 known
    assert stats.compare_groups(too_few, b, "k") is None


def test_compare_groups_ratio_against_a_zero_median_has_no_effect():
    a, b = lognormal(1, 20), np.r_[np.zeros(15), np.ones(10)]
    result = stats.compare_groups(a, b, "k")
    assert result.effect is None and result.ci is None and result.p < 0.01


def test_comparisons_are_calibrated_when_nothing_differs():
    """Under no difference, about 5% of tests have p < 0.05 and about 95% of intervals hold 1."""
    results = [stats.compare_groups(lognormal(2 * i, 25), lognormal(2 * i + 1, 80), f"null-{i}") for i in range(400)]
    false_positive = np.mean([r.p < 0.05 for r in results])
    coverage = np.mean([r.ci[0] <= 1 <= r.ci[1] for r in results])
    assert 0.02 <= false_positive <= 0.09
    assert 0.91 <= coverage <= 0.99


def test_mann_whitney_is_calibrated_with_heavy_ties():
    """Counts from 0 to 4 (most values tied): the tie correction keeps the false positive rate near 5%."""
    rng = np.random.default_rng(7)
    p = [stats.mann_whitney(rng.binomial(4, 0.3, 30).astype(float), rng.binomial(4, 0.3, 45).astype(float))
         for _ in range(400)]
    assert 0.02 <= np.mean(np.array(p) < 0.05) <= 0.09


def test_bootstrap_median_draws_match_resampling():
    """The exact-distribution draws give the same interval as brute-force resampling."""
    values = np.sort(lognormal(1, 41))
    draws = stats._bootstrap_medians(values, np.random.default_rng(2))
    brute = np.median(values[np.random.default_rng(3).integers(0, 41, (20000, 41))], axis=1)
    assert np.percentile(draws, [2.5, 50, 97.5]) == pytest.approx(np.percentile(brute, [2.5, 50, 97.5]), rel=0.05)


def test_percentile_ci_by_hand_and_refuses_mostly_undefined_draws():
    draws = np.arange(1001, dtype=float)            # 0, 1, ..., 1000: the 2.5th and 97.5th percentiles
    assert stats.percentile_ci(draws) == pytest.approx((25.0, 975.0))
    draws[:90] = np.inf                              # 9% undefined: still an interval (of the rest)
    assert stats.percentile_ci(draws) is not None
    draws[:200] = np.nan
    assert stats.percentile_ci(draws) is None
    assert stats.percentile_ci(np.array([])) is None


# --- Benjamini-Hochberg -----------------------------------------------------------------------

def test_bh_qvalues_by_hand():
    # sorted p: .001 .008 .039 .041 .6 with m = 5: q = min over later ranks of p * m / rank
    assert stats.bh_qvalues([0.039, 0.001, 0.6, 0.008, 0.041]) == pytest.approx([0.05125, 0.005, 0.6, 0.02, 0.05125])
    assert stats.bh_qvalues([]) == []
    assert stats.bh_qvalues([0.03]) == pytest.approx([0.03])


def test_bh_reproduces_the_example_of_benjamini_and_hochberg_1995():
    """Their 15 p-values: at level 0.05 the procedure rejects the four smallest (Bonferroni three)."""
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719,
         0.6528, 0.7590, 1.000]
    q = stats.bh_qvalues(p)
    assert sum(v <= 0.05 for v in q) == 4
    assert q[3] == pytest.approx(0.0095 * 15 / 4) and q[4] == pytest.approx(0.0201 * 15 / 5)


def test_bh_qvalues_are_monotone_at_least_p_and_order_free():
    p = list(np.random.default_rng(3).random(40) ** 3)
    q = stats.bh_qvalues(p)
    order = np.argsort(p)
    assert np.all(np.diff(np.array(q)[order]) >= 0)              # a smaller p never gets a larger q
    assert all(pi <= qi <= 1 for pi, qi in zip(p, q))
    shuffled = np.random.default_rng(4).permutation(40)
    assert stats.bh_qvalues([p[i] for i in shuffled]) == pytest.approx([q[i] for i in shuffled])
    assert stats.bh_qvalues([0.01, 0.01, 0.01]) == pytest.approx([0.01, 0.01, 0.01])   # ties share their q


# --- Fisher's exact test and over-representation -----------------------------------------------

@pytest.mark.parametrize("k, expected", [(3, 1 / 20), (2, 10 / 20), (0, 1.0), (-1, 1.0), (4, 0.0)])
def test_hypergeom_tail_by_hand(k, expected):
    # 6 posts, 3 with the trait, 3 drawn: C(6, 3) = 20 equally likely draws; all 3 carriers: 1 of them;
    # at least 2: 1 + C(3, 2) * C(3, 1) = 10
    assert stats.hypergeom_tail(k, 6, 3, 3) == pytest.approx(expected, abs=1e-15)


def test_over_representation_direction_counts_and_woolf_interval():
    selected = np.array([True] * 10 + [False] * 40)
    trait = np.array([True] * 6 + [False] * 4 + [True] * 8 + [False] * 32)
    result = stats.over_representation(trait[None, :], selected)[0]
    assert (result.selected_with, result.selected, result.rest_with, result.rest) == (6, 10, 8, 40)
    assert result.p == pytest.approx(stats.hypergeom_tail(6, 50, 14, 10)) and result.p < 0.05
    woolf = (6.5 * 32.5) / (4.5 * 8.5)  # Haldane +0.5
    half = stats._Z * math.sqrt(1 / 6.5 + 1 / 4.5 + 1 / 8.5 + 1 / 32.5)
    assert result.odds_ratio == pytest.approx(woolf)
    assert result.ci == pytest.approx((woolf * math.exp(-half), woolf * math.exp(half)))


def test_over_representation_edge_cases_stay_finite():
    selected = np.array([True] * 10 + [False] * 40)
    everywhere = np.ones(50, dtype=bool)                               # empty cells: Haldane keeps it finite
    in_all_selected = np.r_[np.ones(10, dtype=bool), np.zeros(40, dtype=bool)]
    nowhere_selected = np.r_[np.zeros(10, dtype=bool), np.ones(20, dtype=bool), np.zeros(20, dtype=bool)]
    spread = np.tile([True, False, False, False, False], 10)          # 2 of 10 selected, 8 of 40 others
    results = stats.over_representation(np.array([everywhere, in_all_selected, nowhere_selected, spread]), selected)
    assert all(math.isfinite(r.odds_ratio) and all(map(math.isfinite, r.ci)) for r in results)
    assert results[0].p == pytest.approx(1.0) and results[2].p == pytest.approx(1.0)
    assert results[1].p == pytest.approx(1 / math.comb(50, 10)) and results[1].ci[0] > 1
    assert results[2].odds_ratio < 1 and results[2].ci[1] < 1
    assert results[3].odds_ratio == pytest.approx(2.5 * 32.5 / 8.5 ** 2)   # the +0.5 pulls it a little off 1
    assert results[3].ci[0] < 1 < results[3].ci[1] and results[3].p > 0.3


# --- other tests --------------------------------------------------------------------------------

def test_heterogeneity_is_cochrans_q():
    assert stats.heterogeneity([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]) == pytest.approx(1.0)
    # two estimates 1.0 apart with standard errors 0.2: weights 25, Q = 2 * 25 * 0.5^2 = 12.5 on 1 df,
    # and a chi-square with 1 df is a squared standard normal
    assert stats.heterogeneity([0.0, 1.0], [0.2, 0.2]) == pytest.approx(normal_two_sided_p(math.sqrt(12.5)))
    assert stats.heterogeneity([0.3], [0.1]) is None
    assert stats.heterogeneity([0.0, 1.0, 5.0], [0.2, 0.2, 0.0]) == pytest.approx(normal_two_sided_p(math.sqrt(12.5)))


def test_spearman_direction_and_edge_cases():
    x = np.arange(40, dtype=float)
    y = x + np.random.default_rng(3).normal(0, 15, 40)
    result = stats.spearman(x, y)
    assert result.n == 40 and 0.3 < result.rho < 0.9 and result.p < 0.05
    assert -1 < result.ci[0] < result.rho < result.ci[1] < 1
    assert stats.spearman(x, -y).rho == pytest.approx(-result.rho)
    monotone = stats.spearman(x, np.exp(x / 5))         # a perfect rank order, not linear
    assert monotone.rho == pytest.approx(1.0, abs=1e-5) and monotone.p < 1e-10
    assert stats.spearman(np.ones(40), y) is None        # a constant has no rank order
    assert stats.spearman(x[: 2 * stats.MIN_GROUP - 1], y[: 2 * stats.MIN_GROUP - 1]) is None


def test_spearman_leaves_pairs_with_unknown_values_out():
    x = np.arange(40, dtype=float)
    y = x + np.random.default_rng(3).normal(0, 15, 40)
    gappy_x, gappy_y = np.r_[x, np.nan, 3.0], np.r_[y, 5.0, np.nan]
    assert stats.spearman(gappy_x, gappy_y) == stats.spearman(x, y)


def test_spearman_is_calibrated():
    """No association: about 5% of p below 0.05. A bivariate normal with r = 0.5 has Spearman's
    rho = 6/pi * asin(r/2): about 95% of intervals hold it."""
    rng = np.random.default_rng(8)
    null_p = [stats.spearman(rng.normal(size=40), rng.lognormal(size=40)).p for _ in range(300)]
    assert 0.02 <= np.mean(np.array(null_p) < 0.05) <= 0.09
    rho = 6 / math.pi * math.asin(0.25)
    cov = [[1, 0.5], [0.5, 1]]
    intervals = [stats.spearman(*rng.multivariate_normal([0, 0], cov, 50).T).ci for _ in range(300)]
    assert 0.91 <= np.mean([low <= rho <= high for low, high in intervals]) <= 0.99


def test_proportion_above_by_hand():
    # 10 of 10 when half is expected: p = 0.5^10; 5 of 10: the textbook Wilson interval 0.237-0.763
    assert stats.proportion_above(10, 10, 0.5).p == pytest.approx(0.5 ** 10)
    five = stats.proportion_above(5, 10, 0.5)
    assert five.share == 0.5 and five.ci == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert five.p == pytest.approx(sum(math.comb(10, j) for j in range(5, 11)) / 2 ** 10)
    none = stats.proportion_above(0, 25, 0.3)
    assert none.p == 1.0 and none.ci[0] == pytest.approx(0.0, abs=1e-12) and 0 < none.ci[1] < 0.2
    assert stats.proportion_above(25, 25, 0.3).ci[1] == pytest.approx(1.0)


def test_proportion_above_is_calibrated():
    """Draws at exactly the expected share: the exact test rejects at most about 5% of the time and
    about 95% of Wilson intervals hold the true share."""
    rng = np.random.default_rng(9)
    results = [stats.proportion_above(int(k), 60, 0.3) for k in rng.binomial(60, 0.3, 400)]
    assert np.mean([r.p < 0.05 for r in results]) <= 0.07
    assert 0.91 <= np.mean([r.ci[0] <= 0.3 <= r.ci[1] for r in results]) <= 0.99


def test_none_in_recent():
    assert stats.none_in_recent(30, 0.2) == pytest.approx(0.8 ** 30)
    assert stats.none_in_recent(0, 0.2) == 1.0


def test_chi_square_independence_by_hand():
    # a perfect association in a 2x2 table of 20: chi-square = 20 on 1 df, Cramér's V = 1
    p, v = stats.chi_square_independence(np.array([[10, 0], [0, 10]]))
    assert p == pytest.approx(normal_two_sided_p(math.sqrt(20))) and v == pytest.approx(1.0)
    p, v = stats.chi_square_independence(np.array([[10, 10], [20, 20], [5, 5]]))   # rows in proportion
    assert p == pytest.approx(1.0) and v == pytest.approx(0.0, abs=1e-12)


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


# --- the linear model ---------------------------------------------------------------------------

def test_contrast_in_a_one_lever_model_is_the_pooled_two_sample_t_test():
    rng = np.random.default_rng(11)
    a, b = rng.normal(1.2, 1, 30), rng.normal(0.2, 1, 50)
    x = np.column_stack([np.ones(80), np.r_[np.ones(30), np.zeros(50)]])
    estimate = stats.contrast(stats.least_squares(x, np.r_[a, b]), np.array([0.0, 1.0]))
    pooled_var = (29 * a.var(ddof=1) + 49 * b.var(ddof=1)) / 78
    assert estimate.value == pytest.approx(a.mean() - b.mean())
    assert estimate.se == pytest.approx(math.sqrt(pooled_var * (1 / 30 + 1 / 50)))
    assert estimate.ci[0] < estimate.value < estimate.ci[1] and estimate.ci[0] > 0 and estimate.p < 0.05
    # with 78 df the t interval is a little wider than the normal one
    assert 1.96 < (estimate.ci[1] - estimate.value) / estimate.se < 2.0
    flipped = stats.contrast(stats.least_squares(x, np.r_[a, b]), np.array([0.0, -1.0]))
    assert flipped.value == pytest.approx(-estimate.value) and flipped.p == pytest.approx(estimate.p)


def test_the_robust_covariance_is_the_textbook_hc3_sandwich_and_covers_under_unequal_noise():
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(60), rng.normal(size=60), rng.random(60) < 0.3]).astype(float)
    y = x @ np.array([1.0, 0.5, 0.0]) + rng.normal(size=60) * (0.2 + 2 * x[:, 2])
    fit = stats.least_squares(x, y, robust=True)
    bread = np.linalg.inv(x.T @ x)
    hat = x @ bread @ x.T
    e = y - hat @ y
    hc3 = bread @ (x.T * (e / (1 - np.diag(hat))) ** 2) @ x @ bread
    assert np.allclose(fit.cov, hc3) and not np.allclose(fit.cov, stats.least_squares(x, y).cov)
    # inverse-propensity weights (1 to 20, as the generator's exploration floor allows) on pure noise:
    # the sandwich interval of a weighted fit still holds 0 about 95% of the time, the classical one
    # (which reads a weight as a precision) does not
    covered = {True: [], False: []}
    for _ in range(300):
        group = (rng.random(120) < 0.5).astype(float)
        weight = np.where(rng.random(120) < 0.15, 20.0, 1.0)
        root = np.sqrt(weight / weight.mean())
        design = np.column_stack([np.ones(120), group]) * root[:, None]
        noise = rng.normal(size=120) * root
        for robust in covered:
            ci = stats.contrast(stats.least_squares(design, noise, robust=robust), np.array([0.0, 1.0])).ci
            covered[robust].append(ci[0] <= 0 <= ci[1])
    assert 0.91 <= np.mean(covered[True]) <= 0.99 and np.mean(covered[False]) < 0.88, covered


def test_always_valid_p_holds_its_level_over_every_weekly_look_where_a_plain_p_does_not():
    """Null sequences read after each of 26 weekly batches: the share of sequences in which the
    decision rule ever fires. The always-valid p stays under its level over all the looks; a plain
    p < 0.01 read every week fires several times as often as 1 %."""
    rng = np.random.default_rng(8)
    ever_valid = ever_plain = 0
    runs = 2000
    for _ in range(runs):
        sums = np.cumsum(rng.normal(size=26) * np.sqrt(20))     # 20 posts a week, SD 1 each
        n = 20 * np.arange(1, 27)
        estimates = [stats.Estimate(s / k, 1 / math.sqrt(k), 0.0, (0.0, 0.0)) for s, k in zip(sums, n)]
        ever_valid += any(stats.always_valid_p(e, 0.4) < 0.01 for e in estimates)
        ever_plain += any(normal_two_sided_p(e.value / e.se) < 0.01 for e in estimates)
    assert ever_valid / runs <= 0.01 and ever_plain / runs >= 0.03, (ever_valid, ever_plain)
    # and it does decide on a real effect: 0.4 on the log scale (1.5x) with SE 0.1
    assert stats.always_valid_p(stats.Estimate(0.4, 0.1, 0.0, (0.2, 0.6)), 0.4) < 0.01
    assert stats.always_valid_p(stats.Estimate(0.0, 0.0, 1.0, (0.0, 0.0)), 0.4) == 1.0


def test_least_squares_needs_residual_degrees_of_freedom():
    x = np.column_stack([np.ones(3), [0.0, 1, 2], [1.0, 0, 1]])
    assert stats.least_squares(x, np.array([1.0, 2, 4])) is None


def test_a_contrast_the_data_cannot_separate_is_refused():
    x = np.column_stack([np.ones(40), np.r_[np.ones(20), np.zeros(20)], np.r_[np.ones(20), np.zeros(20)]])
    fit = stats.least_squares(x, np.random.default_rng(1).normal(size=40))
    assert stats.contrast(fit, np.array([0.0, 1.0, 0.0])) is None          # two identical columns
    assert stats.contrast(fit, np.array([0.0, 0.5, 0.5])) is not None      # their sum is estimable


def test_adjusted_contrasts_are_calibrated_with_correlated_levers():
    """Nothing matters, two levers are correlated, heavy-ish tails: about 5% of p below 0.05 and
    about 95% of intervals hold 0."""
    rng = np.random.default_rng(4)
    estimates = []
    for _ in range(400):
        a = rng.integers(0, 4, 90)
        b = np.where(rng.random(90) < 0.6, a, rng.integers(0, 4, 90))   # b follows a 60% of the time
        x = np.column_stack([np.ones(90)] + [(a == k) for k in (1, 2, 3)] + [(b == k) for k in (1, 2, 3)]).astype(float)
        y = rng.standard_t(5, 90)
        fit = stats.least_squares(x, y)
        estimates.append(stats.contrast(fit, np.array([0, 1.0, 0, 0, 0, 0, 0])))
    assert 0.02 <= np.mean([e.p < 0.05 for e in estimates]) <= 0.09
    assert 0.91 <= np.mean([e.ci[0] <= 0 <= e.ci[1] for e in estimates]) <= 0.99


def test_fixed_effect_pooling_by_hand():
    pooled = stats.fixed_effect([stats.Estimate(1.0, 0.5, 0.05, (0, 2)), stats.Estimate(2.0, 1.0, 0.05, (0, 4))])
    # weights 4 and 1: (4 * 1 + 1 * 2) / 5 = 1.2, se = 1 / sqrt(5)
    assert pooled.value == pytest.approx(1.2) and pooled.se == pytest.approx(1 / math.sqrt(5))
    assert pooled.p == pytest.approx(normal_two_sided_p(1.2 * math.sqrt(5)))
    assert pooled.ci == pytest.approx((1.2 - 1.959964 / math.sqrt(5), 1.2 + 1.959964 / math.sqrt(5)))
    assert stats.fixed_effect([]) is None
