"""The generator's reader for performance_context.json."""
from __future__ import annotations

import json
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
