"""What the content generator calls to read accounts/<name>/performance_context.json.

The generator lives in another repository; this module is its whole interface to the learning
loop, and it needs only the standard library plus jsonschema:

    from scripts.proposals.generator_context import (load_context, choose_format, top_pillars,
                                           reference_hooks, hook_styles_to_avoid, experiments)
    context = load_context("accounts/mymomskills")          # {} if nothing approved yet
    fmt = choose_format(context, config_formats, rng)        # weighted, 10% exploration
    pillars = top_pillars(context, 3)                        # prefer these topics
    examples = reference_hooks(context)                      # extra examples for the hook scorer

A missing context means "nothing learned yet": every helper then returns the neutral answer
(uniform formats, no preferred pillars, no reference hooks), so the generator never breaks. A file
that is there but is no valid context (not JSON, not an object, NaN or Infinity, outside the
schema, a link to nowhere or to a device) raises ContextError, one line naming the file.
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import jsonschema

from scripts.core.files import UnreadableJson, read_json
from scripts.core.schemas import schema_problem
from scripts.core.workspace import SCHEMA_DIR

__all__ = ["CONTEXT_FILE", "EXPLORATION_RATE", "SCHEMA_PATH", "ContextError", "choose_format", "context_problem",
           "experiments", "first_nonfinite", "format_weights", "hook_styles_to_avoid", "load_context",
           "posting_windows", "preferred_hook_styles", "reference_hooks", "slide_count", "top_pillars",
           "underperforming_pillars"]

SCHEMA_PATH = SCHEMA_DIR / "performance_context.schema.json"
CONTEXT_FILE = "performance_context.json"
EXPLORATION_RATE = 0.1  # share of picks made uniformly, so low-weight formats still get tested
CONTEXT_SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_KINDS = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


class ContextError(ValueError):
    """The file exists but is not a valid context; the message names it."""


def load_context(path: str | Path) -> dict:
    """The context from an account folder or the file itself; {} when apply has not made one yet."""
    path = Path(path)
    if path.is_dir():
        path = path / CONTEXT_FILE
    if not path.exists() and not path.is_symlink():  # a dangling link is a broken file, not "none yet"
        return {}
    try:
        context = read_json(path)
    except UnreadableJson as exc:
        raise ContextError(f"{path}: {exc}") from None
    problem = context_problem(context)
    if problem:
        raise ContextError(f"{path}: {problem}")
    return context


def context_problem(context, schema: dict | None = None) -> str | None:
    """Why a context is not one the generator can use, as '<pointer>: <problem>', or None. The one
    rule for it: apply checks what it is about to write with it (and the account's narrower schema),
    so what apply writes is what this reader accepts. Numbers are checked for NaN and Infinity
    first, because a JSON Schema's minimum and maximum are both false for NaN and let it through."""
    if not isinstance(context, dict):
        return f"/: the context must be a JSON object, not {_KINDS.get(type(context), 'null')}"
    where = first_nonfinite(context)
    if where is not None:
        return f"{where}: not a finite number (NaN and Infinity are not JSON)"
    return schema_problem(jsonschema.Draft202012Validator(schema or CONTEXT_SCHEMA), context, pointer=True)


def first_nonfinite(value) -> str | None:
    """The JSON pointer of the first NaN or Infinity in a JSON value, or None. Iterative, so no
    nesting can overflow the stack."""
    stack = [(value, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return pointer or "/"
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        stack.extend((child, f"{pointer}/{_escaped(key)}") for key, child in reversed(list(items)))
    return None


def _escaped(key) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")  # RFC 6901


def format_weights(context: dict, formats: list[str]) -> dict[str, float]:
    """A weight for each of the generator's formats; 1.0 for any the context does not mention."""
    known = context.get("format_weights") or {}
    return {fmt: float(known.get(fmt, 1.0)) for fmt in formats}


def choose_format(context: dict, formats: list[str], rng: random.Random | None = None,
                  exploration: float = EXPLORATION_RATE) -> str:
    """One format: with probability `exploration` uniformly at random (exploration), otherwise in
    proportion to the approved weights (exploitation)."""
    if not formats:
        raise ValueError("no formats to choose from")
    rng = rng or random.Random()
    if rng.random() < exploration:
        return rng.choice(list(formats))
    weights = format_weights(context, formats)
    return rng.choices(list(weights), weights=list(weights.values()), k=1)[0]


def top_pillars(context: dict, n: int = 3) -> list[str]:
    """The pillars to prefer, best first, never one marked underperforming."""
    avoid = set(context.get("underperforming_pillars") or [])
    return [p for p in context.get("top_pillars") or [] if p not in avoid][:n]


def underperforming_pillars(context: dict) -> list[str]:
    return list(context.get("underperforming_pillars") or [])


def reference_hooks(context: dict) -> list[str]:
    """Proven hooks to add to the semantic scorer's examples."""
    return list((context.get("hook_insights") or {}).get("reference_hooks") or [])


def preferred_hook_styles(context: dict) -> list[str]:
    return list((context.get("hook_insights") or {}).get("best_styles") or [])


def hook_styles_to_avoid(context: dict) -> list[str]:
    return list((context.get("hook_insights") or {}).get("worst_styles") or [])


def slide_count(context: dict, default: int) -> int:
    return context.get("optimal_slide_count") or default


def posting_windows(context: dict) -> list[tuple[int, int]]:
    """Local publishing hours that work best, best first: (start_hour, end_hour), both inclusive
    (a window may wrap past midnight: (22, 1)). Empty when nothing is known yet."""
    return [(w["start_hour"], w["end_hour"]) for w in context.get("posting_windows") or []]


def experiments(context: dict) -> list[str]:
    """Free-text experiment suggestions ('Format how_to: not posted lately; ...')."""
    return list(context.get("experiment_suggestions") or [])
