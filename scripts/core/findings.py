"""What every stage agrees on about a finding: how sure it is, and which findings come first.

The analyzer writes findings, the recommender proposes from them, the report and the dashboard
show them: all of them rank with these, so "the top finding" is the same finding everywhere."""
from __future__ import annotations

import math

# weakest first, so a higher rank is surer; the schemas' enums hold the same three words
CONFIDENCE_LEVELS = ("low", "medium", "high")
CONFIDENCE_RANK = {level: rank for rank, level in enumerate(CONFIDENCE_LEVELS)}
# effects that are ratios: their size is read on the log scale, so 0.5x weighs like 2x
RATIO_KINDS = frozenset({"ratio_of_medians", "adjusted_ratio", "ratio", "odds_ratio", "ratio_spread"})
# effects that are already a size on a 0..1 scale
ASSOCIATION_KINDS = frozenset({"spearman_rho", "cramers_v"})


def cap_confidence(wanted: str, ceiling: str) -> str:
    """Never more sure than the evidence: the lower of the two (an unknown word counts as low)."""
    wanted = wanted if wanted in CONFIDENCE_RANK else "low"
    return min(wanted, ceiling, key=CONFIDENCE_RANK.__getitem__)


def effect_size(finding: dict) -> float:
    """How large the effect is, comparable across findings of one kind: |log ratio| for ratios,
    |rho| or V for associations, 0 for kinds that are not a size (shares, days)."""
    effect, kind = finding.get("effect"), finding.get("effect_kind")
    if not isinstance(effect, (int, float)) or isinstance(effect, bool) or not math.isfinite(effect):
        return 0.0
    if kind in RATIO_KINDS:
        return abs(math.log(effect)) if effect > 0 else 0.0
    return abs(effect) if kind in ASSOCIATION_KINDS else 0.0


def finding_rank(finding: dict) -> tuple:
    """The sort key of "surest first": confidence, then the corrected p (q), then the largest
    effect, then the id so the order is stable."""
    q = finding.get("q")
    q = q if isinstance(q, (int, float)) and not isinstance(q, bool) else 1.0
    return (-CONFIDENCE_RANK[finding["confidence"]], q, -effect_size(finding), finding["id"])
