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
  slide_count                         -> slide_count       optimal_slide_count (never inside a worse range)
  timing: a better local time block   -> 80_20_insight     posting_windows
  exploration                         -> format_experiment experiment suggestion
  nothing clear (only low findings)   -> format_experiment "post N of X in the next 2 weeks so we can tell"

Only findings at medium or better about a platform the account has become changes (actionable).
Not proposed from: the worst-fifth failure tests (a strong format makes every other format look
over-represented among the worst posts; the other-things-equal lever findings carry the same levers
without that) and the cross-account findings (each account's own findings are already pooled with
its siblings', so a pattern that holds everywhere reaches every account through its own file).
Reference hooks are our generator's own hooks of matched posts, screened by reference_hook_problem.
"""
from __future__ import annotations

import math

import re

from scripts.core.files import finite_number
from scripts.core.findings import RATIO_KINDS, finding_rank

WEIGHT_RANGE = (0.5, 2.0)   # rules move weights gently; the schema allows 0.1-3.0 for hand edits
DEFAULT_STEP = 0.3          # when a finding has no usable ratio


SUPPORTING = ("medium", "high")   # the confidences a change may rest on
EXPERIMENT_POSTS, EXPERIMENT_WEEKS, EXPERIMENT_FORMATS = 4, 2, 2
REFERENCE_HOOK_MAX = 120         # characters: a hook is one line of a slide
# text that reads as an instruction to a model, or markup: never fed to the generator's own model
_INSTRUCTION_LIKE = re.compile(
    r"ignore (all |any )?(the )?(previous|prior|above|earlier)|disregard|instruction|system prompt|"
    r"\bprompt\b|you are (now )?an? |assistant:|\bsystem:|<|>|```|https?://|www\.", re.IGNORECASE)


def reference_hook_problem(text) -> str | None:
    """Why a hook may not become a reference hook, or None."""
    if not isinstance(text, str) or not text.strip():
        return "empty"
    if len(text) > REFERENCE_HOOK_MAX or "\n" in text:
        return "longer than one short line"
    if _INSTRUCTION_LIKE.search(text):
        return "reads like an instruction or markup"
    return None


def supports_change(finding: dict, platforms: set[str] | None) -> bool:
    """A finding a change may rest on: medium or better, about a platform the account has (a finding
    about Instagram says nothing to a TikTok-only account)."""
    platform = finding.get("platform")
    return finding.get("confidence") in SUPPORTING and (platforms is None or platform is None or platform in platforms)


def actionable(findings: list[dict], context: dict, examples: dict[str, list[str]] | None = None,
               platforms: set[str] | None = None) -> list[dict]:
    """Every change the findings support (supports_change), strongest evidence first."""
    return propose([f for f in findings if supports_change(f, platforms)], context, examples)


def experiments(findings: list[dict], context: dict, platforms: set[str] | None = None) -> list[dict]:
    """When nothing is clear: experiments that would tell, not weight changes. For the formats with
    the fewest posts behind them (by the formats findings), "post 4 in the next 2 weeks"."""
    mine = [f for f in findings if f.get("dimension") == "formats"
            and (platforms is None or f.get("platform") is None or f.get("platform") in platforms)]
    posts: dict[str, int] = {fmt: 0 for fmt in context["format_weights"]}
    cited: dict[str, dict] = {}
    for finding in sorted(mine, key=lambda f: f["id"]):
        fmt = (finding.get("subject") or {}).get("format")
        if isinstance(fmt, str) and fmt in posts and finding.get("groups"):
            posts[fmt] += int(finding["groups"][0].get("n") or 0)
            cited[fmt] = finding
        for name, row in ((finding.get("details") or {}).get("by_format") or {}).items():
            if name in posts and isinstance(row, dict) and isinstance(row.get("posts"), int):
                posts[name] += row["posts"]
    if not mine:
        return []
    current = context["experiment_suggestions"]
    open_formats = [fmt for fmt in sorted(posts, key=lambda f: (posts[f], f))
                    if not (fmt in cited and cited[fmt].get("confidence") != "low")   # a clear finding: not open
                    and not any(s.startswith(f"Format {fmt}: ") for s in current)][:EXPERIMENT_FORMATS]
    if not open_formats:
        return []
    text = {fmt: f"Format {fmt}: post {EXPERIMENT_POSTS} in the next {EXPERIMENT_WEEKS} weeks so we can tell how it "
                 f"does (too few posts to tell now)" for fmt in open_formats}
    finding = cited.get(open_formats[0], mine[0])
    proposal = _proposal(finding, "format_experiment", "add the experiment suggestions " + "; ".join(
        f'"{t}"' for t in text.values()), [_replace("/experiment_suggestions", (current + list(text.values()))[-20:])])
    proposal["confidence"] = "low"
    return [proposal]


def propose(findings: list[dict], context: dict, examples: dict[str, list[str]] | None = None) -> list[dict]:
    """Every proposal the findings support against this context, strongest evidence first."""
    examples = examples or {}
    ranked = []
    worse = _worse_slide_counts(findings)
    for finding in findings:
        if finding.get("direction") == "none":
            continue
        for rule in RULES.get(finding["dimension"], ()):
            proposal = rule(finding, context, examples)
            if proposal and not _sets_slide_count_in(proposal, worse):
                ranked.append((finding_rank(finding), proposal))
                break
    return [proposal for _, proposal in sorted(ranked, key=lambda pair: pair[0])]


def _worse_slide_counts(findings: list[dict]):
    """The slide counts any of these findings calls worse: "N+ slides do worse" (or better)."""
    cuts = [(f["subject"]["slide_count_min"], f["direction"]) for f in findings
            if f.get("dimension") == "slide_count" and isinstance((f.get("subject") or {}).get("slide_count_min"), int)
            and f.get("direction") in ("better", "worse")]
    return lambda count: any(count >= n if d == "worse" else count < n for n, d in cuts)


def _sets_slide_count_in(proposal: dict, worse) -> bool:
    """Never an optimum inside a range the same analysis calls worse."""
    return any(op.get("path") == "/optimal_slide_count" and isinstance(op.get("value"), int) and worse(op["value"])
               for op in proposal["patch"])


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
    fresh = [h for h in examples.get(style, []) if h not in hooks["reference_hooks"]
             and reference_hook_problem(h) is None][:3]
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


def posting_window(finding: dict, context: dict, examples) -> dict | None:
    """A local time block that does better becomes the first posting window."""
    hours = (finding.get("subject") or {}).get("local_hour_range")
    if finding.get("direction") != "better" or not (isinstance(hours, list) and len(hours) == 2
                                                     and all(isinstance(h, int) and 0 <= h <= 23 for h in hours)):
        return None
    window = {"start_hour": hours[0], "end_hour": hours[1]}
    current = context.get("posting_windows") or []
    if current[:1] == [window]:
        return None
    windows = ([window] + [w for w in current if w != window])[:6]
    op = _replace("/posting_windows", windows) if "posting_windows" in context else \
        {"op": "add", "path": "/posting_windows", "value": windows}
    return _proposal(finding, "80_20_insight", f"post between {hours[0]:02d}:00 and {hours[1]:02d}:59 local time "
                     f"first (posting_windows)", [op])


def across_accounts(finding: dict, context: dict, examples) -> dict | None:
    """A universal cross-account finding's change for one account's context (recommend.py writes
    them as one all-- proposal with a patch per account)."""
    subject = finding.get("subject") or {}
    for key, rule in (("format", format_weight), ("hook_style", hook_style), ("content_pillar", pillar),
                      ("local_hour_range", posting_window)):
        if key in subject:
            return rule(finding, context, examples)
    return None


def slides_worse_is_failure(finding: dict, context: dict, examples) -> dict | None:
    if finding.get("direction") == "worse":
        return slide_count(finding, context, examples, "failure_pattern")
    return slide_count(finding, context, examples)


RULES = {
    "formats": (pareto, format_weight),
    "pillars": (pareto, pillar),
    "save_vs_share": (save_vs_share,),
    "hooks": (hook_style,),
    "slide_count": (slides_worse_is_failure,),
    "timing": (posting_window,),
    "exploration": (exploration,),
    # failures and cross_account: see the module's docstring; growth has no field in the context
}
