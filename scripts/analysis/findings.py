"""Findings: from candidate comparisons to the checked, worded findings of one insights file.

Every dimension proposes Candidates (a test made, with its effect, interval and p). One file's
candidates form one family: Benjamini-Hochberg q-values are computed over all of them, including
those that are not printed, then confidence and direction are assigned by one rule (scripts/stats)
and a readable subset is kept.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from scripts.analysis import stats
from scripts.analysis.headlines import finding_headline
from scripts.core.findings import CONFIDENCE_RANK

DIMENSIONS = ("formats", "failures", "pillars", "save_vs_share", "hooks", "slide_count", "timing",
              "growth", "cross_account", "exploration")
MAX_CLEAR_PER_TAG = 3  # "best:" candidates: at most this many clear ones (strongest first) ...
MAX_LOW_PER_TAG = 1    # ... or, when nothing is clear, the strongest one as a low-confidence finding


@dataclass
class Candidate:
    """One comparison made. `claim(candidate, direction, q)` words it once q is known.

    keep: "always" (printed even without evidence: the absence is informative),
          "significant" (printed only at medium or high confidence),
          "best:<tag>" (the medium/high ones of the tag, or else its smallest p as a low one),
          "never" (a comparison made, so it counts in the BH family, but not printed).
    higher_is: what an effect above null_value means ("better" or "worse").
    one_sided: only an effect beyond null_value in the tested direction gets a direction.
    """
    id: str
    dimension: str
    platform: str | None
    metric: str
    groups: list[dict]
    subject: dict
    claim: Callable[["Candidate", str, float | None], str]
    effect: float | None = None
    effect_kind: str | None = None
    ci: tuple[float, float] | None = None
    p: float | None = None
    null_value: float = 1.0
    higher_is: str = "better"
    one_sided: bool = False
    keep: str = "always"
    ci_required: bool = True
    direction: str | None = None      # fixed direction (facts); otherwise from the interval
    confidence: str | None = None     # fixed confidence (facts with no test)
    account: str | None = None
    details: dict = field(default_factory=dict)
    own_agrees: bool = True           # the account's own estimate has the pooled sign ("high" needs it)
    hedges: bool = False              # its claim words a low-confidence effect as a hint itself
    assigned: str | None = None       # the confidence given, set before the claim is worded

    @property
    def smallest_group(self) -> int:
        return min((g["n"] for g in self.groups), default=0)


def _direction(c: Candidate) -> str:
    if c.direction is not None:
        return c.direction
    if c.effect is None or not stats.excludes(c.ci, c.null_value):
        return "none"
    above = c.ci[0] > c.null_value
    if c.one_sided and not above:
        return "none"
    if above:
        return c.higher_is
    return "worse" if c.higher_is == "better" else "better"


def _confidence(c: Candidate, q: float | None) -> str:
    if c.confidence is not None:
        return c.confidence
    if c.ci_required:
        level = stats.confidence(q, c.ci, c.null_value, c.smallest_group)
    else:  # a test with no natural interval (a count, a table): q and group size only
        level = stats.confidence(q, (c.null_value + 1, c.null_value + 1), c.null_value, c.smallest_group)
    # an account whose own posts point the other way leans entirely on its siblings: never "high"
    return "medium" if level == "high" and not c.own_agrees else level


HINT = "A hint only, not yet clear: "


def _worded(c: Candidate, direction: str, confidence: str, q: float | None) -> str:
    """The claim; a low-confidence effect is worded as a hint, never as a fact."""
    c.assigned = confidence
    claim = c.claim(c, direction, q)
    if confidence == "low" and direction != "none" and not c.hedges:
        claim = HINT + claim[:1].lower() + claim[1:]
    return claim


def _rounded(value):
    """Numbers as they are printed: 4 significant digits is plenty and keeps files diff-friendly.
    Also turns numpy scalars into plain JSON numbers."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float):
        return float(f"{value:.4g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _as_finding(c: Candidate, q: float | None, family: int) -> dict:
    direction = _direction(c)
    confidence = _confidence(c, q)
    finding = {
        "id": c.id, "dimension": c.dimension, "account": c.account, "platform": c.platform,
        "claim": _worded(c, direction, confidence, q), "metric": c.metric, "groups": c.groups,
        "effect": c.effect, "effect_kind": c.effect_kind, "ci": list(c.ci) if c.ci else None,
        "ci_level": stats.CI_LEVEL if c.ci else None, "p": c.p, "q": q,
        "confidence": confidence, "direction": direction, "subject": c.subject,
        "details": {**c.details, "comparisons_in_family": family} if c.p is not None else c.details,
    }
    return finding


def _kept(findings: list[tuple[Candidate, dict]]) -> list[dict]:
    chosen: list[dict] = []
    best: dict[str, list[tuple[Candidate, dict]]] = {}
    for c, f in findings:
        if c.keep == "always" or (c.keep == "significant" and f["confidence"] != "low"):
            chosen.append(f)
        elif c.keep.startswith("best:"):
            best.setdefault(c.keep, []).append((c, f))
    for group in best.values():
        tested = sorted((pair for pair in group if pair[0].p is not None), key=lambda pair: (pair[0].p, pair[0].id))
        clear = [f for _, f in tested if f["confidence"] != "low"]
        chosen += clear[:MAX_CLEAR_PER_TAG] if clear else [f for _, f in tested[:MAX_LOW_PER_TAG]]
    return chosen


def finalize(candidates: list[Candidate], adjust: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """BH across every test in the file, confidence and direction by one rule, `adjust` (caveats
    that need the finished findings), then a readable subset in a stable order (dimension,
    platform, strongest evidence first, id)."""
    duplicates = [i for i, count in Counter(c.id for c in candidates).items() if count > 1]
    if duplicates:
        raise ValueError(f"duplicate finding ids: {sorted(duplicates)[:3]}")
    tested = [c for c in candidates if c.p is not None]
    qs = dict(zip((c.id for c in tested), stats.bh_qvalues([c.p for c in tested])))
    findings = [(c, _as_finding(c, qs.get(c.id), len(tested))) for c in candidates]
    if adjust:
        adjust([f for _, f in findings])
    kept = [_rounded(f) for f in _kept(findings)]
    for f in kept:  # the plain-words sentence, from the finished finding's fields (scripts/analysis/headlines.py)
        f["headline"] = finding_headline(f)
    return sorted(kept, key=lambda f: (DIMENSIONS.index(f["dimension"]), f["platform"] or "",
                                       -CONFIDENCE_RANK[f["confidence"]],
                                       f["p"] if f["p"] is not None else 2.0, f["id"]))


# --- wording ------------------------------------------------------------------------------------

def num(value: float | None) -> str:
    """A count or metric for a sentence: 4,210 / 37 / 0.0123."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1 or value == 0:
        return f"{value:.3g}"
    return f"{value:.2g}"


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}".rstrip("0").rstrip(".") + "x"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def evidence_words(q: float | None, ci: tuple | None, fmt: Callable = times) -> str:
    parts = []
    if ci:
        parts.append(f"{pct(stats.CI_LEVEL)} CI {fmt(ci[0])}–{fmt(ci[1])}")
    if q is not None:
        parts.append(f"q = {q:.2g}")
    return "; ".join(parts)


def lever_claim(subject: str, rest: str, metric: str, adjusted: bool, test: str = "") -> Callable:
    """'<subject> get 2.1x the <metric> of <rest>, other things equal (raw medians a vs b; n vs m
    posts; CI; [test;] q).' A low-confidence effect 'may' be there; an effect that only reflects
    another level standing out says so."""
    def claim(c: Candidate, direction: str, q: float | None) -> str:
        d = c.details
        numbers = (f"raw medians {num(d['median'])} vs {num(d['median_rest'])}; "
                   f"{c.groups[0]['n']} vs {c.groups[1]['n']} posts; {evidence_words(q, c.ci)}")
        if test:
            numbers += f"; {test}"
        if d.get("pooled", {}).get("accounts", 1) > 1:
            numbers += f"; pooled with {d['pooled']['accounts'] - 1} other accounts"
        equal = ", other things equal" if adjusted else ""
        if d.get("standout") is not None and direction == "none":
            return (f"Not a difference of its own: {subject} got {times(c.effect)} the {metric} of {rest}{equal}, "
                    f"but only because {d['standout']} stands out; against the others it is not clearly "
                    f"different ({numbers}).")
        if direction == "none":
            return (f"No clear difference so far: {subject} got {times(c.effect)} the {metric} "
                    f"of {rest}{equal} ({numbers}).")
        verb = "may get" if c.assigned == "low" else "get"
        return f"{subject[:1].upper()}{subject[1:]} {verb} {times(c.effect)} the {metric} of {rest}{equal} ({numbers})."
    return claim
