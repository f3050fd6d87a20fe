"""The offline recommender: deterministic rules from analyzer findings to context changes.

Each rule reads one finding (its dimension, machine-readable `subject`, `direction`, `effect`) and
proposes the change to performance_context.json it supports, in the same shape Claude's tool
answer has: {finding_id, category, insight, confidence, patch}. `patch` holds only the changing
ops; recommend.py adds the `test` ops, validates and picks. A rule proposes nothing when the
context already says what the finding says, so an approved change is never proposed again.

Which finding becomes which category:
  formats better/worse (ratio)        -> format_weight     weight = sqrt(effect), 0.5-2.0
  formats/pillars share of engagement -> 80_20_insight     top formats/pillars first
  hooks better                        -> hook_style        best_styles + reference hooks
  hooks worse, failures               -> failure_pattern   worst_styles / lower weight / ...
  pillars better                      -> topic_priority    top_pillars, best first
  pillars worse                       -> pillar_rebalance  underperforming_pillars
  save_vs_share with a format         -> save_vs_share     high_save / high_share formats
  save_vs_share with a CTA            -> cta_strategy      an experiment suggestion
  slide_count                         -> slide_count       optimal_slide_count
  exploration                         -> format_experiment experiment suggestion
"""
from __future__ import annotations

import math

from scripts.core.files import finite_number
from scripts.core.findings import RATIO_KINDS, finding_rank

WEIGHT_RANGE = (0.5, 2.0)   # rules move weights gently; the schema allows 0.1-3.0 for hand edits
DEFAULT_STEP = 0.3          # when a finding has no usable ratio


def propose(findings: list[dict], context: dict, examples: dict[str, list[str]] | None = None) -> list[dict]:
    """Every proposal the findings support against this context, strongest evidence first."""
    examples = examples or {}
    ranked = []
    for finding in findings:
        if finding.get("direction") == "none":
            continue
        for rule in RULES.get(finding["dimension"], ()):
            proposal = rule(finding, context, examples)
            if proposal:
                ranked.append((finding_rank(finding), proposal))
                break
    return [proposal for _, proposal in sorted(ranked, key=lambda pair: pair[0])]


def _proposal(finding: dict, category: str, action: str, ops: list[dict]) -> dict:
    claim = (finding.get("claim") or "").strip()
    return {"finding_id": finding["id"], "category": category,
            "insight": f"{claim} Proposed: {action}." if claim else f"Proposed: {action}.",
            "confidence": finding["confidence"], "patch": ops}


def _replace(path: str, value) -> dict:
    return {"op": "replace", "path": path, "value": value}


def _is_share(finding: dict) -> bool:
    kind = (finding.get("effect_kind") or "") + " " + (finding.get("metric") or "")
    return "share_of" in kind or kind.startswith("share ") or "pareto" in kind


def _named(finding: dict, key: str, plural: str) -> list[str]:
    subject = finding.get("subject") or {}
    names = subject.get(plural) or ([subject[key]] if subject.get(key) else [])
    return [n for n in names if isinstance(n, str)]


# --- format weights ---------------------------------------------------------------------------

def _target_weight(finding: dict, current: float) -> float:
    effect = finite_number(finding.get("effect"))
    better = finding.get("direction") == "better"
    if effect is not None and effect > 0 and (finding.get("effect_kind") is None or finding["effect_kind"] in RATIO_KINDS):
        target = math.sqrt(effect)  # half the log effect: a nudge, not a bet
    else:
        target = 1.0 + (DEFAULT_STEP if better else -DEFAULT_STEP)
    target = round(min(max(target, WEIGHT_RANGE[0]), WEIGHT_RANGE[1]), 1)
    if better and target <= current or not better and target >= current:
        return current  # already there (or further): nothing to propose
    return target


def format_weight(finding: dict, context: dict, examples, category: str = "format_weight") -> dict | None:
    names = _named(finding, "format", "formats")
    weights = context["format_weights"]
    if len(names) != 1 or names[0] not in weights or _is_share(finding):
        return None
    fmt, current = names[0], weights[names[0]]
    target = _target_weight(finding, current)
    if target == current:
        return None
    verb = "raise" if target > current else "lower"
    return _proposal(finding, category, f"{verb} the {fmt} weight {current} -> {target}",
                     [_replace(f"/format_weights/{fmt}", target)])


def pareto(finding: dict, context: dict, examples) -> dict | None:
    """80/20: the few formats or pillars that bring most of the engagement go first."""
    if not _is_share(finding) or finding.get("direction") != "better":
        return None
    pillars = _named(finding, "content_pillar", "content_pillars")
    if pillars:
        top = pillars + [p for p in context["top_pillars"] if p not in pillars]
        if top[:len(pillars)] == context["top_pillars"][:len(pillars)]:
            return None
        return _proposal(finding, "80_20_insight", f"put {', '.join(pillars)} first in top_pillars",
                         [_replace("/top_pillars", top)])
    formats = [f for f in _named(finding, "format", "formats") if f in context["format_weights"]]
    ops = [_replace(f"/format_weights/{f}", 1.2) for f in formats if context["format_weights"][f] < 1.2]
    if not ops:
        return None
    return _proposal(finding, "80_20_insight", f"weight {', '.join(formats)} at least 1.2", ops)


# --- hooks ------------------------------------------------------------------------------------

def hook_style(finding: dict, context: dict, examples) -> dict | None:
    style = (finding.get("subject") or {}).get("hook_style")
    if not isinstance(style, str):
        return None
    hooks = context["hook_insights"]
    if finding.get("direction") == "worse":
        return _worst_style(finding, context, style, "failure_pattern")
    if style in hooks["best_styles"]:
        return None
    ops = [_replace("/hook_insights/best_styles", hooks["best_styles"] + [style])]
    if style in hooks["worst_styles"]:
        ops.append(_replace("/hook_insights/worst_styles", [s for s in hooks["worst_styles"] if s != style]))
    fresh = [h for h in examples.get(style, [])[:3] if h not in hooks["reference_hooks"]]
    action = f"add {style} to the best hook styles"
    if fresh:
        ops.append(_replace("/hook_insights/reference_hooks", (hooks["reference_hooks"] + fresh)[-20:]))
        action += f" and {len(fresh)} of its best hooks to the reference hooks"
    return _proposal(finding, "hook_style", action, ops)


def _worst_style(finding: dict, context: dict, style: str, category: str) -> dict | None:
    hooks = context["hook_insights"]
    if style in hooks["worst_styles"]:
        return None
    ops = [_replace("/hook_insights/worst_styles", hooks["worst_styles"] + [style])]
    if style in hooks["best_styles"]:
        ops.append(_replace("/hook_insights/best_styles", [s for s in hooks["best_styles"] if s != style]))
    return _proposal(finding, category, f"add {style} to the hook styles to avoid", ops)


# --- pillars ----------------------------------------------------------------------------------

def pillar(finding: dict, context: dict, examples) -> dict | None:
    name = (finding.get("subject") or {}).get("content_pillar")
    if not isinstance(name, str) or _is_share(finding):
        return None
    top, under = context["top_pillars"], context["underperforming_pillars"]
    if finding.get("direction") == "better":
        if name in top:
            return None
        ops = [_replace("/top_pillars", [name] + top)]
        if name in under:
            ops.append(_replace("/underperforming_pillars", [p for p in under if p != name]))
        return _proposal(finding, "topic_priority", f"make {name} the first of the top pillars", ops)
    return _underperforming(finding, context, name, "pillar_rebalance")


def _underperforming(finding: dict, context: dict, name: str, category: str) -> dict | None:
    top, under = context["top_pillars"], context["underperforming_pillars"]
    if name in under:
        return None
    ops = [_replace("/underperforming_pillars", under + [name])]
    if name in top:
        ops.append(_replace("/top_pillars", [p for p in top if p != name]))
    return _proposal(finding, category, f"mark {name} as underperforming (write less of it)", ops)


# --- slides -----------------------------------------------------------------------------------

def _slide_target(subject: dict, better: bool, current: int | None) -> int | None:
    if isinstance(subject.get("slide_count"), int):
        return subject["slide_count"] if better else None
    low, high = subject.get("slide_count_min"), subject.get("slide_count_max")
    if isinstance(subject.get("slide_count_range"), list) and len(subject["slide_count_range"]) == 2:
        low, high = subject["slide_count_range"]
    if better and isinstance(low, int):
        return (low + high) // 2 if isinstance(high, int) else low
    if not better and isinstance(low, int) and not isinstance(high, int):
        # "N or more slides do worse": stay just under N unless already below it
        return None if current is not None and current < low else max(1, low - 1)
    if not better and isinstance(high, int) and not isinstance(low, int):
        return None if current is not None and current > high else min(20, high + 1)
    return None


def slide_count(finding: dict, context: dict, examples, category: str = "slide_count") -> dict | None:
    subject = finding.get("subject") or {}
    current = context["optimal_slide_count"]
    target = _slide_target(subject, finding.get("direction") == "better", current)
    if target is None or target == current or not 1 <= target <= 20:
        return None
    return _proposal(finding, category, f"set the default slide count to {target}",
                     [_replace("/optimal_slide_count", target)])


# --- save vs share, CTAs, experiments ---------------------------------------------------------

def save_vs_share(finding: dict, context: dict, examples) -> dict | None:
    subject = finding.get("subject") or {}
    metric = finding.get("metric") or ""
    if isinstance(subject.get("cta"), str):
        return cta_strategy(finding, context, examples)
    fmt = subject.get("format")
    if not isinstance(fmt, str) or fmt not in context["format_weights"] or finding.get("direction") != "better":
        return None
    key = "high_save_formats" if "save" in metric else "high_share_formats" if "share" in metric else None
    if key is None or fmt in context["save_vs_share"][key]:
        return None
    return _proposal(finding, "save_vs_share", f"add {fmt} to {key}",
                     [_replace(f"/save_vs_share/{key}", context["save_vs_share"][key] + [fmt])])


def _suggest(finding: dict, context: dict, category: str, prefix: str, text: str) -> dict | None:
    """Add one experiment suggestion; a suggestion with the same prefix means it is already there."""
    current = context["experiment_suggestions"]
    if any(s.startswith(prefix) for s in current):
        return None
    return _proposal(finding, category, f"add the experiment suggestion \"{prefix}{text}\"",
                     [_replace("/experiment_suggestions", (current + [prefix + text])[-20:])])


def cta_strategy(finding: dict, context: dict, examples) -> dict | None:
    cta = (finding.get("subject") or {}).get("cta")
    if not isinstance(cta, str) or cta == "none":
        return None
    metric = (finding.get("metric") or "engagement").split("_d")[0]
    effect = finite_number(finding.get("effect"))
    size = f" ({effect:.1f}x {metric})" if effect is not None else ""
    if finding.get("direction") == "better":
        return _suggest(finding, context, "cta_strategy", f"CTA {cta}: ", f"end captions with it{size}")
    return _suggest(finding, context, "cta_strategy", f"CTA {cta}: ", f"avoid it{size}")


def exploration(finding: dict, context: dict, examples) -> dict | None:
    fmt = (finding.get("subject") or {}).get("format")
    if not isinstance(fmt, str):
        return None
    if "share" in (finding.get("metric") or ""):
        share = finite_number(finding.get("effect"))
        how_much = f"{share:.0%} of posts" if share is not None and 0 <= share <= 1 else "over-used"
        return _suggest(finding, context, "format_experiment", f"Format {fmt}: ",
                        f"{how_much}; swap some for other formats")
    return _suggest(finding, context, "format_experiment", f"Format {fmt}: ",
                    "not posted lately; try 2 posts this week")


def failure(finding: dict, context: dict, examples) -> dict | None:
    subject = finding.get("subject") or {}
    if isinstance(subject.get("hook_style"), str):
        return _worst_style(finding, context, subject["hook_style"], "failure_pattern")
    if isinstance(subject.get("content_pillar"), str):
        return _underperforming(finding, context, subject["content_pillar"], "failure_pattern")
    if isinstance(subject.get("format"), str):
        return format_weight({**finding, "direction": "worse"}, context, examples, "failure_pattern")
    if any(k.startswith("slide_count") for k in subject):
        return slide_count({**finding, "direction": "worse"}, context, examples, "failure_pattern")
    return None


def cross_account(finding: dict, context: dict, examples) -> dict | None:
    """A pattern that holds on every account also applies to this one."""
    subject = finding.get("subject") or {}
    if "format" in subject:
        return format_weight(finding, context, examples)
    if "hook_style" in subject:
        return hook_style(finding, context, examples)
    return None


def slides_worse_is_failure(finding: dict, context: dict, examples) -> dict | None:
    if finding.get("direction") == "worse":
        return slide_count(finding, context, examples, "failure_pattern")
    return slide_count(finding, context, examples)


RULES = {
    "formats": (pareto, format_weight),
    "failures": (failure,),
    "pillars": (pareto, pillar),
    "save_vs_share": (save_vs_share,),
    "hooks": (hook_style,),
    "slide_count": (slides_worse_is_failure,),
    "exploration": (exploration,),
    "cross_account": (cross_account,),
    # timing and growth have no field in the generator's context: they stay in the reports
}
