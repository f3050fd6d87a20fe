"""Other things equal: one log-linear model per account, platform and metric over the generator's levers.

The levers are correlated (a step guide may tend to have more slides), so a lever compared alone
can take credit for another. The model is log(metric) ~ format + hook style + pillar + CTA + slide
count + time block + weekday + hook score, fitted by least squares, for every metric in METRICS:
log(1 + views) or log(1 + likes), and the log of a rate per view (engagement, saves, shares; +0.5
keeps a post with none on the scale). A finding compares one lever's level with the unweighted
mean of its other levels, all the other levers held fixed (a deviation contrast: it does not
depend on how often each level was posted), with its t test and t interval. Below MIN_DF residual
degrees of freedom (small accounts) each lever is compared in a model of its own.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from scripts.analysis import stats
from scripts.analysis.data import PlatformPosts

# metric -> how its value is read from a post's day-7 numbers (views, likes, ... in PlatformPosts.day7)
METRICS = ("views_d7", "likes_d7", "engagement_rate_d7", "saves_per_view_d7", "shares_per_view_d7")
RATE_METRICS = ("saves_per_view_d7", "shares_per_view_d7")
MIN_LEVEL_POSTS = 5   # a level with fewer posts is too noisy to be part of the "other levels" baseline
LEVERS = ("format", "hook_style", "content_pillar", "cta", "slides", "daypart", "weekday")
MIN_DF = 30      # residual degrees of freedom the full model needs
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAYPART_HOURS, FIRST_DAYPART = 4, 2   # 4-hour local blocks: 02-05, 06-09, ..., 18-21, 22-01
DAYPARTS = tuple(((FIRST_DAYPART + i * DAYPART_HOURS) % 24, (FIRST_DAYPART + (i + 1) * DAYPART_HOURS - 1) % 24)
                 for i in range(24 // DAYPART_HOURS))


def daypart_name(part: tuple[int, int]) -> str:
    return f"{part[0]:02d}-{part[1]:02d}"


PART_BY_NAME = {daypart_name(part): part for part in DAYPARTS}


def dayparts(posts: PlatformPosts) -> np.ndarray:
    """Each post's index into DAYPARTS (-1 where the publishing time is unknown)."""
    hours = posts.local_hour
    return np.where(hours >= 0, ((hours - FIRST_DAYPART) % 24) // DAYPART_HOURS, -1)


def lever_labels(posts: PlatformPosts) -> dict[str, np.ndarray]:
    """Every lever as one label per post (None where unknown)."""
    parts = np.array([daypart_name(part) for part in DAYPARTS] + [None], dtype=object)
    weekdays = np.array(list(WEEKDAY_NAMES) + [None], dtype=object)
    slides = np.array([str(int(v)) if np.isfinite(v) else None for v in posts.slide_count], dtype=object)
    return {"format": posts.text["format"], "hook_style": posts.text["hook_style"],
            "content_pillar": posts.text["content_pillar"], "cta": posts.text["cta"], "slides": slides,
            "daypart": parts[dayparts(posts)], "weekday": weekdays[posts.weekday]}


def _rate_parts(posts: PlatformPosts, metric: str) -> tuple[np.ndarray, np.ndarray]:
    count = {"engagement_rate_d7": posts.interactions, "saves_per_view_d7": lambda: posts.day7["saves"],
             "shares_per_view_d7": lambda: posts.day7["shares"]}[metric]()
    return count, posts.day7["views"]


def response(posts: PlatformPosts, metric: str) -> np.ndarray:
    """A metric on the model's log scale, NaN where it is unknown (or a rate has no views)."""
    if metric in ("views_d7", "likes_d7"):
        return np.log1p(posts.day7[metric[:-3]])
    count, views = _rate_parts(posts, metric)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(views > 0, np.log((count + 0.5) / views), np.nan)


def raw_values(posts: PlatformPosts, metric: str) -> np.ndarray:
    """The metric as the posts got it (a count, or a rate per view), for the raw medians."""
    if metric in ("views_d7", "likes_d7"):
        return posts.day7[metric[:-3]]
    count, views = _rate_parts(posts, metric)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(views > 0, count / views, np.nan)


def _sorted_levels(labels: np.ndarray) -> list[str]:
    return sorted({v for v in labels if v is not None}, key=lambda v: (len(v), v) if v.isdigit() else (0, v))


class LeverModel:
    """The model of one account on one platform; posts with an unknown lever are left out of it."""

    def __init__(self, posts: PlatformPosts, metric: str):
        labels = lever_labels(posts)
        y = response(posts, metric)
        known = np.isfinite(y) & np.isfinite(posts.hook_score)
        for values in labels.values():
            known &= values != None  # noqa: E711 - elementwise on an object array
        self.posts = posts
        self.metric = metric
        self.mask = known                      # which of the platform's posts the model uses
        self.y = y[known]
        self.labels = {lever: values[known] for lever, values in labels.items()}
        self.levels = {lever: _sorted_levels(values) for lever, values in self.labels.items()}
        # each post's level as an index into self.levels[lever]: sets of levels become cheap masks
        self.codes = {lever: np.array([self.levels[lever].index(v) for v in values], dtype=int)
                      for lever, values in self.labels.items()}
        self.counts = {lever: np.bincount(codes, minlength=len(self.levels[lever]))
                       for lever, codes in self.codes.items()}
        score = posts.hook_score[known]
        self.score = score - score.mean() if len(score) else score
        self._fits: dict[tuple[str, ...], tuple[stats.LinearFit | None, dict]] = {}
        self._contrasts: dict[tuple, stats.Estimate | None] = {}  # the same comparison is asked for repeatedly
        self._counts: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.y)

    def _fit(self, levers: tuple[str, ...]) -> tuple[stats.LinearFit | None, dict]:
        """Reference coding: each lever's first level is the baseline; (lever, level) -> column."""
        if levers not in self._fits:
            columns, position = [np.ones(len(self.y))], {}
            for lever in levers:
                for level in self.levels[lever][1:]:
                    position[(lever, level)] = len(columns)
                    columns.append((self.labels[lever] == level).astype(float))
            if len(levers) > 1:
                position[("hook_score", None)] = len(columns)
                columns.append(self.score)
            fit = stats.least_squares(np.column_stack(columns), self.y) if len(self.y) > len(columns) else None
            self._fits[levers] = (fit, position)
        return self._fits[levers]

    @cached_property
    def adjusts(self) -> bool:
        """Whether the full model has enough posts; otherwise each lever stands alone."""
        fit, _ = self._fit(LEVERS)
        return fit is not None and fit.df >= MIN_DF

    def _fit_for(self, lever: str) -> tuple[stats.LinearFit | None, dict]:
        return self._fit(LEVERS if self.adjusts else (lever,))

    def adjusted_for(self, lever: str) -> list[str]:
        return [other for other in LEVERS if other != lever] + ["hook_score"] if self.adjusts else []

    def _indices(self, lever: str, levels: set[str]) -> list[int]:
        return [i for i, level in enumerate(self.levels[lever]) if level in levels]

    def count(self, lever: str, levels: set[str]) -> int:
        key = (lever, frozenset(levels))  # asked tens of thousands of times for a few sets
        if key not in self._counts:
            self._counts[key] = int(self.counts[lever][self._indices(lever, levels)].sum())
        return self._counts[key]

    def posts_with(self, lever: str, levels: set[str]) -> np.ndarray:
        """Which of the model's posts have one of these levels."""
        chosen = np.zeros(len(self.levels[lever]) + 1, dtype=bool)
        chosen[self._indices(lever, levels)] = True
        return chosen[self.codes[lever]]

    def compare(self, lever: str, inside: set[str], outside: set[str]) -> stats.Estimate | None:
        """Log-scale difference between posts with a level in `inside` and posts with one in
        `outside`, each side weighted by how often its levels occur, everything else held fixed."""
        key = (lever, frozenset(inside), frozenset(outside))
        if key not in self._contrasts:
            self._contrasts[key] = self._compare(lever, inside, outside)
        return self._contrasts[key]

    def _compare(self, lever: str, inside: set[str], outside: set[str]) -> stats.Estimate | None:
        fit, position = self._fit_for(lever)
        if fit is None:
            return None
        weights = np.zeros(len(fit.beta))
        for side, sign in ((inside, 1.0), (outside, -1.0)):
            total = self.count(lever, side)
            if total == 0:
                return None
            for level in side:
                column = position.get((lever, level))  # the baseline level has no column
                if column is not None:
                    weights[column] += sign * self.count(lever, {level}) / total
        return stats.contrast(fit, weights)

    def sizable(self, lever: str) -> list[str]:
        """The levels with enough posts to take part in a comparison's baseline."""
        return [level for level, n in zip(self.levels[lever], self.counts[lever]) if n >= MIN_LEVEL_POSTS]

    def _level_weights(self, lever: str, position: dict, level: str) -> np.ndarray:
        weights = np.zeros(max(position.values(), default=0) + 1)
        column = position.get((lever, level))  # the baseline level has no column: its coefficient is 0
        if column is not None:
            weights[column] = 1.0
        return weights

    def all_versus_others(self, lever: str) -> dict[tuple[str, str | None], stats.Estimate | None]:
        """Every sizable level against the unweighted mean of the lever's other sizable levels, alone
        and with each other level left out, everything else held fixed, from one matrix product:
        (level, left out or None) -> log-scale estimate (None where the data cannot tell them apart)."""
        fit, position = self._fit_for(lever)
        sizable = self.sizable(lever)
        if fit is None or len(sizable) < 2:
            return {}
        columns = np.array([_padded(self._level_weights(lever, position, level), len(fit.beta)) for level in sizable])
        keys, rows = [], []
        for i, level in enumerate(sizable):
            for left_out in [None] + [other for other in sizable if other != level]:
                others = [j for j, other in enumerate(sizable) if j != i and other != left_out]
                if others:
                    keys.append((level, left_out))
                    rows.append(columns[i] - columns[others].mean(axis=0))
        return dict(zip(keys, stats.contrasts(fit, np.array(rows))))

    def medians(self, lever: str, inside: set[str], outside: set[str]) -> tuple[float, float]:
        """Raw medians of the metric on each side (what the posts actually got)."""
        values = raw_values(self.posts, self.metric)[self.mask]
        return (stats.median(values[self.posts_with(lever, inside)]),
                stats.median(values[self.posts_with(lever, outside)]))


def _padded(weights: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size)
    out[:len(weights)] = weights
    return out
