"""Robust statistics for the analyzer: rank tests, seeded bootstrap intervals, FDR control, confidence.

Engagement counts are heavy-tailed (a few posts go viral), so every comparison here works on
medians, ranks or the log scale, and every interval is either exact-ish or a seeded bootstrap:
the same input always gives the same numbers.

The tests and distributions are scipy.stats (and numpy) calls: Mann-Whitney U, Spearman's rho,
ranks, the hypergeometric tail of Fisher's one-sided exact test, the binomial test and its Wilson
interval, Benjamini-Hochberg, the chi-square test of independence and Cramér's V, medians,
percentiles, least squares, and the binomial distribution. The normal, t, F and chi-square tails
in the hot loops are scipy.special's kernels (ndtr, stdtr, fdtrc, chdtrc), which scipy.stats'
distributions call underneath, without their per-call overhead.
Written out here is only what scipy has no function for, or none that fits (each says why where
it is defined):
- the Fisher-z interval of Spearman's rho (Bonett & Wright's variance; spearmanr gives none);
- the Woolf interval of an odds ratio with the Haldane +0.5 correction;
- Cochran's Q statistic and inverse-variance (fixed-effect) pooling;
- the exact-distribution bootstrap of a median (scipy.stats.bootstrap is 30-100x slower here);
- the covariance of least squares (classical and HC3 sandwich) and its contrasts (numpy.linalg
  does the algebra, scipy.special the t and F tails);
- the always-valid p-value of a mixture SPRT (scipy has no sequential tests).
Importing scipy.stats costs about 0.7 s of the analyzer's time budget (docs/analyze.md).
"""
from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000  # draws from the exact bootstrap distribution of a median (see below)
MIN_GROUP = 10              # fewer posts than this in either group: no comparison (research: >= 10 per arm)
MIN_GROUP_HIGH = 20         # "high" needs at least this many posts in the smaller group
Q_HIGH = 0.01               # Benjamini-Hochberg q below which evidence may be "high"
Q_MEDIUM = 0.05             # ... and "medium"
_ALPHA = 1 - CI_LEVEL
_Z = float(sps.norm.ppf(1 - _ALPHA / 2))   # the normal quantile of a two-sided CI_LEVEL interval


def z_quantile() -> float:
    """The normal quantile of a two-sided CI_LEVEL interval."""
    return _Z


def seed_for(key: str) -> int:
    """A bootstrap seed derived from the finding id: stable across runs and independent of order."""
    return zlib.crc32(key.encode("utf-8"))


def mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value: normal approximation with tie and continuity correction
    (scipy.stats.mannwhitneyu, method="asymptotic"); 1.0 when it is undefined (all values equal)."""
    p = float(sps.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)
    return p if math.isfinite(p) else 1.0


@dataclass(frozen=True)
class Comparison:
    """Group A against group B on one metric."""
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    effect: float | None          # ratio of medians (A / B) or difference of medians (A - B)
    ci: tuple[float, float] | None
    p: float


def percentile_ci(samples: np.ndarray) -> tuple[float, float] | None:
    """The CI_LEVEL percentile interval of bootstrap draws (numpy's default linear interpolation);
    None if over 10% of the draws are undefined."""
    finite = samples[np.isfinite(samples)]
    if len(finite) < 0.9 * len(samples) or len(finite) == 0:
        return None
    low, high = np.percentile(finite, [100 * _ALPHA / 2, 100 * (1 - _ALPHA / 2)])
    return float(low), float(high)


def median(values: np.ndarray) -> float:
    """np.median as a float (callers pass known values)."""
    return float(np.median(values))


@functools.lru_cache(maxsize=4096)
def _resample_median_cdf(n: int) -> np.ndarray:
    """P(the lower median of a bootstrap resample of n values is <= the j-th smallest), j = 1..n:
    at least (n+1)//2 of the n draws land at or below it, a Binomial(n, j/n) event. It depends on n
    only, so it is computed once per group size."""
    cdf = sps.binom.sf((n + 1) // 2 - 1, n, np.arange(1, n + 1) / n)
    cdf.flags.writeable = False
    return cdf


def _bootstrap_medians(ordered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws of the median of a bootstrap resample of the sorted values, taken from its exact
    distribution (inverse CDF) instead of by resampling: the same distribution, at O(resamples).

    Not scipy.stats.bootstrap: resampling whole groups costs 5-16 ms per comparison against
    about 0.05 ms here, and the benchmark makes some 1,400 comparisons (~10 s, the analyzer's
    whole budget)."""
    cdf = _resample_median_cdf(len(ordered))
    picks = np.minimum(np.searchsorted(cdf, rng.random(BOOTSTRAP_RESAMPLES)), len(ordered) - 1)
    return ordered[picks]


def compare_groups(a, b, key: str, kind: str = "ratio") -> Comparison | None:
    """Median of A against median of B: Mann-Whitney U p (two-sided) and a seeded bootstrap
    percentile interval for the ratio (kind="ratio") or difference (kind="difference") of medians.
    Unknown values (None, NaN) are left out; None when either group then has fewer than MIN_GROUP."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = np.sort(a[np.isfinite(a)]), np.sort(b[np.isfinite(b)])
    if len(a) < MIN_GROUP or len(b) < MIN_GROUP:
        return None
    median_a, median_b = median(a), median(b)
    p = mann_whitney(a, b)
    rng = np.random.default_rng(seed_for(key))
    boot_a, boot_b = _bootstrap_medians(a, rng), _bootstrap_medians(b, rng)
    if kind == "ratio":
        effect = median_a / median_b if median_b > 0 else None
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = percentile_ci(boot_a / boot_b) if effect is not None else None
    else:
        effect = median_a - median_b
        ci = percentile_ci(boot_a - boot_b)
    return Comparison(len(a), len(b), median_a, median_b, effect, ci, p)


def versus_typical_group(groups: dict[str, np.ndarray], key: str) -> dict[str, Comparison]:
    """Each group's median against the typical group: the median of the other groups' medians
    (robust to one group that stands out, so a standout does not make every other group look
    different). Difference of medians, a seeded bootstrap interval and the bootstrap's two-sided
    p (the share of draws on the other side of zero, doubled). Groups under MIN_GROUP are left
    out; nothing without at least two other groups."""
    usable = {name: np.sort(v[np.isfinite(v)]) for name, v in groups.items()}
    usable = {name: v for name, v in usable.items() if len(v) >= MIN_GROUP}
    if len(usable) < 3:
        return {}
    rng = np.random.default_rng(seed_for(key))
    names = sorted(usable)
    draws = np.array([_bootstrap_medians(usable[n], rng) for n in names])       # (groups, resamples)
    medians = np.array([median(usable[n]) for n in names])
    found = {}
    for i, name in enumerate(names):
        others = np.delete(np.arange(len(names)), i)
        typical, typical_draws = float(np.median(medians[others])), np.median(draws[others], axis=0)
        diff = draws[i] - typical_draws
        p = min(1.0, 2 * min(float((diff <= 0).mean()), float((diff >= 0).mean())) + 1 / BOOTSTRAP_RESAMPLES)
        found[name] = Comparison(len(usable[name]), int(sum(len(usable[names[j]]) for j in others)),
                                 float(medians[i]), typical, float(medians[i] - typical), percentile_ci(diff), p)
    return found


@dataclass(frozen=True)
class Correlation:
    n: int
    rho: float
    ci: tuple[float, float]
    p: float


def spearman(x, y) -> Correlation | None:
    """Spearman's rho and its p (scipy.stats.spearmanr), with a Fisher-z interval using Bonett &
    Wright's variance for rank correlations, (1 + rho^2/2) / (n - 3): scipy gives no interval for
    spearmanr. Pairs with an unknown value (None, NaN) are left out; None with fewer than
    2 * MIN_GROUP pairs or a constant variable."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    known = np.isfinite(x) & np.isfinite(y)
    x, y = x[known], y[known]
    n = len(x)
    if n < 2 * MIN_GROUP or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    result = sps.spearmanr(x, y)
    rho = float(np.clip(result.statistic, -0.999999, 0.999999))  # keeps atanh finite
    half = _Z * math.sqrt((1 + rho ** 2 / 2) / (n - 3))
    z = math.atanh(rho)
    return Correlation(n, rho, (math.tanh(z - half), math.tanh(z + half)), float(result.pvalue))


def hypergeom_tail(k, total: int, carriers, drawn: int):
    """P(X >= k) for X ~ Hypergeometric(total, carriers, drawn): Fisher's one-sided exact test
    that the drawn posts hold more carriers of a trait than chance would give (the p of
    scipy.stats.fisher_exact(alternative="greater"), through scipy.stats.hypergeom.sf so that many
    traits take one call). k and carriers may be arrays (then an array is returned)."""
    p = sps.hypergeom.sf(np.asarray(k) - 1, total, carriers, drawn)
    return float(p) if np.ndim(p) == 0 else p


@dataclass(frozen=True)
class OverRepresentation:
    """How much more often a trait appears among selected posts (e.g. the worst fifth) than among the rest."""
    selected_with: int
    selected: int
    rest_with: int
    rest: int
    odds_ratio: float
    ci: tuple[float, float]
    p: float


def over_representation(with_trait: np.ndarray, selected: np.ndarray) -> list[OverRepresentation]:
    """One-sided Fisher exact test per trait (rows of with_trait, booleans over posts) for being
    over-represented among the selected posts, with the odds ratio and its Woolf (log-normal)
    interval after adding 0.5 to every cell (Haldane-Anscombe).

    The interval is written out: scipy.stats.contingency.odds_ratio(kind="sample") computes the
    same Woolf interval but takes integer tables only, so without the +0.5 a table with an empty
    cell (a trait in every selected post, or in none) gets an infinite or undefined odds ratio and
    bound; kind="conditional" (the exact interval) has the same problem and costs ~18 ms a table."""
    with_trait = np.atleast_2d(np.asarray(with_trait, dtype=bool))
    selected = np.asarray(selected, dtype=bool)
    total, chosen = selected.size, int(selected.sum())
    k = (with_trait & selected).sum(axis=1)
    carriers = with_trait.sum(axis=1)
    p = np.atleast_1d(hypergeom_tail(k, total, carriers, chosen))
    a, b = k + 0.5, chosen - k + 0.5
    c, d = carriers - k + 0.5, total - chosen - (carriers - k) + 0.5
    log_or = np.log(a * d / (b * c))
    half = _Z * np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return [OverRepresentation(int(k[i]), chosen, int(carriers[i] - k[i]), total - chosen,
                               float(np.exp(log_or[i])), (float(np.exp(log_or[i] - half[i])),
                                                          float(np.exp(log_or[i] + half[i]))),
                               float(p[i]))
            for i in range(len(k))]


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    share: float
    ci: tuple[float, float]
    p: float


def proportion_above(k: int, n: int, expected: float) -> Proportion:
    """Is a share above `expected`? One-sided exact binomial test, P(X >= k), and the two-sided
    CI_LEVEL Wilson interval (scipy.stats.binomtest; the interval comes from a two-sided test,
    since a one-sided test's proportion_ci is one-sided)."""
    p = float(sps.binomtest(k, n, expected, alternative="greater").pvalue)
    wilson = sps.binomtest(k, n, expected).proportion_ci(confidence_level=CI_LEVEL, method="wilson")
    return Proportion(k, n, k / n, (float(wilson.low), float(wilson.high)), p)


def none_in_recent(recent: int, historic_share: float) -> float:
    """P(a format with this historic share appears in none of `recent` independent posts)."""
    return float(sps.binom.pmf(0, recent, historic_share))


def heterogeneity(estimates: list[float], errors: list[float]) -> float | None:
    """Cochran's Q test (p) that per-stratum estimates differ by more than their standard errors
    allow: Q = sum w (theta - weighted mean)^2, w = 1/se^2, against chi-square with k-1 df
    (scipy.stats.chi2.sf; scipy has no meta-analysis Q, so the statistic is written out)."""
    usable = [(t, e) for t, e in zip(estimates, errors) if e > 0 and math.isfinite(e)]
    if len(usable) < 2:
        return None
    theta = np.array([t for t, _ in usable])
    weight = 1 / np.array([e for _, e in usable]) ** 2
    pooled = float((weight * theta).sum() / weight.sum())
    q = float((weight * (theta - pooled) ** 2).sum())
    return float(special.chdtrc(len(usable) - 1, q))  # chi2.sf, the same kernel


@dataclass(frozen=True)
class LinearFit:
    """Ordinary least squares with the classical covariance s^2 (X'X)^+ and residual df."""
    beta: np.ndarray
    cov: np.ndarray
    df: int
    row_space: np.ndarray   # pinv(X) X: a contrast c can be estimated when c (pinv(X) X) = c


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float
    p: float                # two-sided
    ci: tuple[float, float]


def least_squares(x: np.ndarray, y: np.ndarray, robust: bool = False) -> LinearFit | None:
    """OLS (numpy.linalg.lstsq: the minimum-norm solution when columns are collinear) with the
    classical covariance s^2 pinv(X) pinv(X)' = s^2 (X'X)^+; None without residual degrees of
    freedom. robust: the heteroskedasticity-consistent (sandwich) covariance HC3,
    (X'X)^-1 X' diag(e^2 / (1 - h)^2) X (X'X)^-1 with h the leverages, written with the
    pseudo-inverse; statsmodels' cov_type="HC3" is the same formula. It is the right one for weighted
    least squares whose weights are not precisions (inverse propensities): the classical covariance
    takes a heavily weighted post for a precise one, and HC1 (no leverage term) understates the error
    when a few heavily weighted posts pull the fit toward themselves (Long & Ervin 2000,
    "Using heteroscedasticity consistent standard errors in the linear regression model").
    """
    beta, _, rank, _ = np.linalg.lstsq(x, y)
    df = len(y) - int(rank)
    if df < 1:
        return None
    inverse = np.linalg.pinv(x)
    residual = y - x @ beta
    if robust:
        leverage = np.minimum(np.einsum("ij,ji->i", x, inverse), 1 - 1e-9)
        cov = (inverse * (residual / (1 - leverage)) ** 2) @ inverse.T
    else:
        cov = float(residual @ residual) / df * (inverse @ inverse.T)
    return LinearFit(beta, cov, df, inverse @ x)


@functools.lru_cache(maxsize=256)
def _t_quantile(df: int) -> float:
    """The t quantile of a two-sided CI_LEVEL interval (few distinct df: computed once each)."""
    return float(sps.t.ppf(1 - _ALPHA / 2, df))


def contrast(fit: LinearFit, weights: np.ndarray) -> Estimate | None:
    """t test (scipy.stats.t) and t interval of a linear combination of the coefficients; None if
    the data cannot tell it apart (it is not in the row space of the design)."""
    if np.abs(weights @ fit.row_space - weights).max() > 1e-8:
        return None
    value = float(weights @ fit.beta)
    se = math.sqrt(max(float(weights @ fit.cov @ weights), 0.0))
    if se == 0:
        return None
    p = float(2 * special.stdtr(fit.df, -abs(value) / se))  # t.sf without rv_continuous' per-call cost
    half = _t_quantile(fit.df) * se
    return Estimate(value, se, p, (value - half, value + half))


def contrasts(fit: LinearFit, weights: np.ndarray) -> list[Estimate | None]:
    """contrast() for every row of a weight matrix at once (one matrix product, not one per row)."""
    weights = np.atleast_2d(weights)
    estimable = np.abs(weights @ fit.row_space - weights).max(axis=1) <= 1e-8
    values = weights @ fit.beta
    ses = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", weights, fit.cov, weights), 0.0))
    half = _t_quantile(fit.df) * ses
    with np.errstate(divide="ignore", invalid="ignore"):
        ps = 2 * special.stdtr(fit.df, -np.abs(values) / ses)
    return [Estimate(float(v), float(s), float(p), (float(v - h), float(v + h))) if ok and s > 0 else None
            for v, s, p, h, ok in zip(values, ses, ps, half, estimable)]


def always_valid_p(estimate: Estimate, scale: float) -> float:
    """The always-valid p-value of "no effect" for a normal estimate that is looked at again and
    again as data arrive: the mixture sequential probability ratio test (mSPRT) with a N(0, scale^2)
    mixing distribution on the effect, p = min(1, 1/Lambda), where
        Lambda = sqrt(s^2 / (s^2 + scale^2)) exp(value^2 scale^2 / (2 s^2 (s^2 + scale^2))).
    Deciding the first time p < alpha keeps the chance of any false decision, over every look, at
    most alpha (Johari, Pekelis & Walsh 2017, "Always valid inference", KDD; Robbins 1970). A plain
    p < alpha read every week would cross by chance in several times alpha of null sequences.
    scale is the size of effect the test is most powerful near (on the estimate's scale)."""
    if not estimate.se > 0:
        return 1.0
    log_ratio = mixture_log_ratio(estimate.value, estimate.se, scale)
    return float(math.exp(-log_ratio)) if log_ratio > 0 else 1.0


def mixture_log_ratio(value: float, se: float, scale: float) -> float:
    """log Lambda of always_valid_p: the normal mixture likelihood ratio of an estimate against 0."""
    s2, t2 = se ** 2, scale ** 2
    return 0.5 * math.log(s2 / (s2 + t2)) + value ** 2 * t2 / (2 * s2 * (s2 + t2))


def fixed_effect(estimates: list[Estimate]) -> Estimate | None:
    """Inverse-variance (fixed-effect) pooling of independent estimates, with a normal z test
    (scipy.stats.norm; scipy has no pooling function, so the weighted mean is written out)."""
    if not estimates:
        return None
    weights = np.array([1 / e.se ** 2 for e in estimates])
    value = float((weights * np.array([e.value for e in estimates])).sum() / weights.sum())
    se = 1 / math.sqrt(weights.sum())
    return Estimate(value, se, float(2 * special.ndtr(-abs(value) / se)), (value - _Z * se, value + _Z * se))


def bh_qvalues(pvalues: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q) for the whole family of comparisons made
    (scipy.stats.false_discovery_control, method="bh")."""
    if not pvalues:
        return []
    return [float(v) for v in sps.false_discovery_control(np.asarray(pvalues, dtype=float), method="bh")]


def chi_square_independence(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test of independence for a table of counts (no continuity correction):
    (p, Cramér's V), by scipy.stats.chi2_contingency and scipy.stats.contingency.association.
    Every row and column must have a non-zero total."""
    table = np.asarray(table)
    p = sps.chi2_contingency(table, correction=False).pvalue
    return float(p), float(sps.contingency.association(table, method="cramer", correction=False))


def excludes(ci: tuple[float, float] | None, null_value: float) -> bool:
    return ci is not None and (ci[0] > null_value or ci[1] < null_value)


def confidence(q: float | None, ci, null_value: float, smallest_group: int) -> str:
    """high: q < Q_HIGH, the interval excludes "no effect" and the smaller group has >= MIN_GROUP_HIGH
    posts; medium: q < Q_MEDIUM and the interval excludes "no effect"; low otherwise."""
    if q is None or not excludes(ci, null_value):
        return "low"
    if q < Q_HIGH and smallest_group >= MIN_GROUP_HIGH:
        return "high"
    return "medium" if q < Q_MEDIUM else "low"
