"""The generator's reader for performance_context.json."""
from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest

from scripts.core.config import DEFAULT_FORMATS, AccountConfig
from scripts.generator_context import (ContextError, choose_format, experiments, hook_styles_to_avoid,
                                       load_context, reference_hooks, slide_count, top_pillars)
from scripts.proposals.recfiles import default_context

FORMATS = list(DEFAULT_FORMATS)


@pytest.fixture
def context() -> dict:
    ctx = default_context(AccountConfig(formats=FORMATS))
    ctx["format_weights"].update(step_guide=2.0, habit_list=0.5)
    ctx.update(top_pillars=["sleep_routines", "baby_products", "picky_eating", "mom_life"],
               underperforming_pillars=["baby_products"], optimal_slide_count=6,
               experiment_suggestions=["Format how_to: not posted lately; try 2 posts this week"])
    ctx["hook_insights"].update(best_styles=["number_specific"], worst_styles=["generic_question"],
                                reference_hooks=["5 bedtime mistakes parents make"])
    return ctx


def test_missing_context_means_nothing_learned(tmp_path):
    assert load_context(tmp_path) == {}
    assert top_pillars({}) == [] and reference_hooks({}) == [] and slide_count({}, 5) == 5
    rng = random.Random(1)
    draws = Counter(choose_format({}, FORMATS, rng, exploration=0.0) for _ in range(5000))
    assert set(draws) == set(FORMATS) and min(draws.values()) > 800   # uniform without weights


def test_load_reads_a_folder_or_a_file_and_rejects_invalid_ones(tmp_path, context):
    (tmp_path / "performance_context.json").write_text(json.dumps(context))
    assert load_context(tmp_path) == context == load_context(tmp_path / "performance_context.json")
    context["format_weights"]["step_guide"] = 40
    (tmp_path / "performance_context.json").write_text(json.dumps(context))
    with pytest.raises(ContextError, match="format_weights/step_guide"):
        load_context(tmp_path)


def test_format_choice_follows_the_weights(context):
    rng = random.Random(7)
    draws = Counter(choose_format(context, FORMATS, rng, exploration=0.0) for _ in range(20000))
    # weights 2.0 : 1.0 : 0.5 -> step_guide about twice scripts, habit_list about half of it
    assert 1.8 < draws["step_guide"] / draws["scripts"] < 2.2
    assert 0.4 < draws["habit_list"] / draws["scripts"] < 0.6


def test_exploration_rate_mixes_in_uniform_picks(context):
    rng = random.Random(3)
    pure = Counter(choose_format(context, FORMATS, rng, exploration=1.0) for _ in range(10000))
    assert max(pure.values()) / min(pure.values()) < 1.2            # all uniform
    mixed = Counter(choose_format(context, FORMATS, rng, exploration=0.3) for _ in range(20000))
    # expected share of habit_list: 0.7 * 0.5/5.5 + 0.3 / 5 = 0.124
    assert 0.11 < mixed["habit_list"] / 20000 < 0.14
    assert choose_format(context, ["only_one"], rng) == "only_one"  # formats the context does not know: 1.0


def test_pillars_hooks_and_experiments(context):
    assert top_pillars(context, 2) == ["sleep_routines", "picky_eating"]   # never an underperforming one
    assert reference_hooks(context) == ["5 bedtime mistakes parents make"]
    assert hook_styles_to_avoid(context) == ["generic_question"]
    assert slide_count(context, 5) == 6
    assert experiments(context)[0].startswith("Format how_to")


def broken_context(context: dict) -> dict[str, bytes]:
    """Files that are not a context the generator can use, by name."""
    weights = json.dumps(context).replace('"step_guide": 2.0', '"step_guide": 1e400')
    return {"a list": b"[]", "null": b"null", "a string": b'"x"', "a number": b"7", "NaN": b"NaN",
            "1e400 (Infinity) in a weight": weights.encode(), "cut short": b'{"format_weights": ',
            "not UTF-8": b"\xff\xfe{}", "nested 100k deep": b"[" * 100_000 + b"]" * 100_000}


@pytest.mark.parametrize("kind", list(broken_context({})))
def test_a_performance_context_json_that_is_a_list_null_or_a_string(tmp_path, context, kind):
    """[], null, "x", NaN and the rest: one ContextError line naming the file, never a traceback
    in the generator."""
    path = tmp_path / "performance_context.json"
    path.write_bytes(broken_context(context)[kind])
    with pytest.raises(ContextError) as error:
        load_context(tmp_path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("target, reason", [("/dev/zero", "not a regular file"), ("nowhere.json", "cannot read"),
                                            ("performance_context.json", "cannot read")])
def test_a_context_that_is_a_link_to_a_device_or_nowhere_is_an_error_not_nothing_learned(tmp_path, target, reason):
    # a dangling link read as "no context yet" would silently reset the generator to uniform formats
    os.symlink(target, tmp_path / "performance_context.json")
    with pytest.raises(ContextError, match=reason):
        load_context(tmp_path)
