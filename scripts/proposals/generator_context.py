"""What the content generator calls to read accounts/<name>/performance_context.json.

The generator lives in another repository; this module is its whole interface to the learning
loop, and it needs only the standard library plus jsonschema:

    from scripts.proposals.generator_context import (load_context, choose_format, record_choice, top_pillars,
                                           reference_hooks, hook_styles_to_avoid, experiments)
    context = load_context("accounts/mymomskills")          # {} if nothing approved yet
    fmt = choose_format(context, config_formats, seed=post_seed)  # Thompson sampling from the beliefs
    record_choice(output_folder, fmt)                        # meta.json: format_choice with its propensity
    pillars = top_pillars(context, 3)                        # prefer these topics
    examples = reference_hooks(context)                      # extra examples for the hook scorer

A missing context means "nothing learned yet": every helper then returns the neutral answer
(uniform formats, no preferred pillars, no reference hooks), so the generator never breaks. A file
that is there but is no valid context (not JSON, not an object, NaN or Infinity, outside the
schema, a link to nowhere or to a device) raises ContextError, one line naming the file.
"""
from __future__ import annotations

import functools
import json
import math
import random
from pathlib import Path
from statistics import NormalDist

from scripts.core.files import UnreadableJson, read_json, write_json_atomic
from scripts.core.schemas import Checker, schema_problem
from scripts.core.workspace import SCHEMA_DIR

__all__ = ["CONTEXT_FILE", "DEFAULT_BELIEF_SD", "EXPLORATION_FLOOR", "EXPLORATION_RATE", "SCHEMA_PATH", "ContextError",
           "FormatChoice", "choose_format", "context_problem", "experiments", "first_nonfinite", "format_propensities",
           "format_weights", "hook_styles_to_avoid", "load_context", "posting_windows", "preferred_hook_styles",
           "record_choice", "reference_hooks", "slide_count", "thompson_shares", "top_pillars", "underperforming_pillars"]

SCHEMA_PATH = SCHEMA_DIR / "performance_context.schema.json"
CONTEXT_FILE = "performance_context.json"
EXPLORATION_RATE = 0.1  # without beliefs: share of picks made uniformly, so low-weight formats still get tested
EXPLORATION_FLOOR = 0.05  # with beliefs: each format's least probability (the context's exploration_floor wins)
DEFAULT_BELIEF_SD = 0.5   # a format the beliefs do not cover: N(0, 0.5^2), the analyzer's prior
CONTEXT_SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_CONTEXT_VALIDATOR = Checker(CONTEXT_SCHEMA)
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
    return schema_problem(Checker(schema, fast=False) if schema else _CONTEXT_VALIDATOR, context, pointer=True)


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


class FormatChoice(str):
    """The chosen format (a str, so it is used exactly as before) carrying how it was chosen:
    its propensity (the probability it had of being chosen), every format's propensity, the seed,
    the beliefs version and the method ("thompson" from beliefs, "weights" without them).
    record_choice writes these into the output folder's meta.json."""
    propensity: float
    propensities: dict
    seed: int | None
    beliefs_version: str | None
    method: str

    def __new__(cls, value: str, **how):
        choice = super().__new__(cls, value)
        choice.__dict__.update(how)
        return choice

    def record(self) -> dict:
        return {"format": str(self), "propensity": self.propensity, "propensities": dict(self.propensities),
                "method": self.method, "seed": self.seed, "beliefs_version": self.beliefs_version}


def thompson_shares(beliefs: dict, formats: list[str]) -> dict[str, float]:
    """P(format k has the highest effect) when each effect is N(mean_k, sd_k^2) independently:
    the integral of pdf_k(x) * prod_j cdf_j(x), by the trapezoid rule on a fine grid. Exact up to
    quadrature (no random draws), so the same beliefs always give the same propensities, as IPW
    needs. A format without a belief gets N(0, DEFAULT_BELIEF_SD^2)."""
    params = tuple((float(beliefs.get(f, {}).get("mean", 0.0)),
                    max(float(beliefs.get(f, {}).get("sd", DEFAULT_BELIEF_SD)), 1e-6)) for f in formats)
    return dict(zip(formats, _best_shares(params)))


@functools.lru_cache(maxsize=256)
def _best_shares(params: tuple[tuple[float, float], ...]) -> tuple[float, ...]:
    """thompson_shares' integral for (mean, sd) pairs; beliefs change weekly, picks are many."""
    dists = [NormalDist(mean, sd) for mean, sd in params]
    if len(dists) == 1:
        return (1.0,)
    low = min(d.mean - 8 * d.stdev for d in dists)
    high = max(d.mean + 8 * d.stdev for d in dists)
    steps = 2000
    width = (high - low) / steps
    grid = [low + i * width for i in range(steps + 1)]
    cdfs = [[d.cdf(x) for x in grid] for d in dists]
    shares = []
    for k, d in enumerate(dists):
        values = []
        for i, x in enumerate(grid):
            product = d.pdf(x)
            for j in range(len(dists)):
                if j != k:
                    product *= cdfs[j][i]
            values.append(product)
        shares.append(width * (sum(values) - (values[0] + values[-1]) / 2))
    total = sum(shares)
    return tuple(s / total for s in shares)


def format_propensities(context: dict, formats: list[str], exploration: float | None = None) -> tuple[dict, str]:
    """({format: probability of being chosen}, method). With format_beliefs in the context:
    p_k = eps + (1 - K eps) q_k, q_k proportional to weight_k * P(k is best) (Thompson sampling,
    tilted by the approved format_weights, which are all 1.0 until one is approved), eps the
    context's exploration_floor (EXPLORATION_FLOOR by default, at most 1/K). Without beliefs, q_k is
    proportional to the weights and K eps = `exploration` (EXPLORATION_RATE by default): a share of
    uniform picks, as before beliefs existed. An explicit `exploration` sets K eps in both cases."""
    formats = list(formats)
    k = len(formats)
    weights = format_weights(context, formats)
    beliefs = context.get("format_beliefs") or {}
    if beliefs:
        shares = thompson_shares(beliefs, formats)
        tilted = {f: weights[f] * shares[f] for f in formats}
        floor = (exploration / k) if exploration is not None else float(context.get("exploration_floor", EXPLORATION_FLOOR))
        method = "thompson"
    else:
        tilted = weights
        floor = (EXPLORATION_RATE if exploration is None else exploration) / k
        method = "weights"
    floor = min(max(floor, 0.0), 1 / k)
    total = sum(tilted.values())
    q = {f: (tilted[f] / total if total > 0 else 1 / k) for f in formats}
    return {f: floor + (1 - k * floor) * q[f] for f in formats}, method


def choose_format(context: dict, formats: list[str], rng: random.Random | None = None,
                  exploration: float | None = None, *, seed: int | None = None) -> FormatChoice:
    """One format, drawn with the propensities of format_propensities (Thompson sampling from the
    context's format_beliefs with the exploration floor; the weights without beliefs). Pass an rng,
    or a seed (logged with the choice); with neither, a fresh seed is drawn and logged. The result
    is the format name and carries .propensity for record_choice."""
    if not formats:
        raise ValueError("no formats to choose from")
    if rng is None:
        seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        rng = random.Random(seed)
    propensities, method = format_propensities(context, formats, exploration)
    names = list(propensities)
    pick = rng.choices(names, weights=[propensities[f] for f in names], k=1)[0]
    return FormatChoice(pick, propensity=propensities[pick], propensities=propensities, seed=seed,
                        beliefs_version=context.get("beliefs_version"), method=method)


def record_choice(folder: str | Path, choice: FormatChoice, overridden: bool = False) -> Path:
    """Write into the output folder's meta.json that its format was a randomised pick (with its
    propensity, seed and beliefs version): key `format_choice`. Every other key the generator
    wrote is kept; the file is replaced atomically. overridden=True records that a person or rule
    replaced the pick (the analyzer then leaves the post out of its randomised estimate). Raises
    ValueError naming the file when its meta.json is not a JSON object."""
    if not isinstance(choice, FormatChoice):
        raise ValueError("record_choice needs the value choose_format returned")
    path = Path(folder) / "meta.json"
    meta = {}
    if path.exists() or path.is_symlink():
        try:
            meta = read_json(path)
        except UnreadableJson as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    meta = {**meta, "format_choice": {**choice.record(), "overridden": bool(overridden)}}
    write_json_atomic(path, meta)
    return path


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
