"""Plain-language headlines (scripts/analysis/headlines.py): built from a finding's structured
fields only, worded by confidence, and total over anything the insights schema allows."""
from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scripts.analysis.headlines import (METRIC_LABELS, finding_headline, label, percent, proposal_headline,
                                        ratio_words, readable)
from scripts.core.workspace import SCHEMA_DIR

INSIGHTS_SCHEMA = json.loads((SCHEMA_DIR / "insights.schema.json").read_text())
FINDING_SCHEMA = {**INSIGHTS_SCHEMA["$defs"]["finding"], "$defs": INSIGHTS_SCHEMA["$defs"]}
DIMENSIONS = FINDING_SCHEMA["properties"]["dimension"]["enum"]
FINDING_VALIDATOR = jsonschema.Draft202012Validator(FINDING_SCHEMA)

STEP_GUIDE = {
    "id": "formats/tiktok/views_d7/step_guide-vs-rest", "dimension": "formats", "account": "mymomskills",
    "platform": "tiktok", "metric": "views_d7",
    "claim": "Posts in the habit_list format get 0.1x the day-7 likes (this sentence must not be read)",
    "groups": [{"name": "step_guide", "n": 31}, {"name": "other formats", "n": 85}],
    "effect": 2.05, "effect_kind": "adjusted_ratio", "ci": [1.6, 2.7], "ci_level": 0.95, "p": 1e-5, "q": 1e-4,
    "confidence": "high", "direction": "better", "subject": {"format": "step_guide"}, "details": {},
}


def test_the_example_of_the_issue():
    assert finding_headline(STEP_GUIDE) == ("On TikTok, step-by-step guides get about 2× the views after 7 days "
                                            "of your other posts (we're confident)")


def test_the_claim_sentence_is_never_read():
    other = {**STEP_GUIDE, "claim": "something else entirely"}
    assert finding_headline(other) == finding_headline(STEP_GUIDE)
    assert "habit" not in finding_headline(STEP_GUIDE) and "0.1" not in finding_headline(STEP_GUIDE)


@pytest.mark.parametrize("confidence, words", [("high", ("get about 2×", "(we're confident)")),
                                               ("medium", ("likely get about 2×", "(probably, worth a test)")),
                                               ("low", ("may get about 2×", "(too few posts to tell: 31 vs 85 posts)"))])
def test_confidence_changes_the_wording(confidence, words):
    text = finding_headline({**STEP_GUIDE, "confidence": confidence})
    assert all(w in text for w in words), text
    if confidence == "low":
        assert "confident" not in text


def test_no_difference_is_said_as_such():
    text = finding_headline({**STEP_GUIDE, "effect": 1.3, "ci": [0.8, 2.1], "direction": "none", "confidence": "low"})
    assert text.startswith("On TikTok, no clear difference yet between step-by-step guides and your other posts")


@pytest.mark.parametrize("ratio, words", [(2.05, "about 2× the"), (1.26, "about 1.3× the"), (2.7, "about 2.5× the"),
                                          (1.0, "about the same"), (0.5, "about half the"),
                                          (0.39, "less than half the"), (0.7, "about 30% fewer"),
                                          (0.1, "about 10× fewer")])
def test_ratio_words(ratio, words):
    assert ratio_words(ratio) == words


def test_numbers_and_rates_read_as_people_write_them():
    assert readable(2370) == "2,400" and readable(6226.0) == "6,200" and readable(0.0371) == "0.037"
    assert percent(0.4719) == "47%" and percent(0.0037) == "0.4%" and percent(None) == "-"


def test_worse_and_cross_account_findings():
    slides = {**STEP_GUIDE, "dimension": "cross_account", "metric": "views_d7_lift", "account": None,
              "subject": {"slide_count_min": 8}, "effect": 0.47, "ci": [0.39, 0.57], "direction": "worse",
              "groups": [{"name": "8", "n": 182}, {"name": "rest", "n": 213}]}
    assert finding_headline(slides) == ("Across your accounts on TikTok, posts with 8+ slides get about half the "
                                        "views after 7 days of other posts in the same account (we're confident)")


def test_a_rate_metric_and_a_cta():
    shares = {**STEP_GUIDE, "dimension": "save_vs_share", "metric": "shares_per_view_d7", "effect_kind": "ratio_of_medians",
              "subject": {"cta": "share"}, "effect": 2.74, "groups": [{"name": "share", "n": 21},
                                                                       {"name": "posts with no CTA", "n": 17}]}
    assert "shares per view after 7 days of posts without a call to action" in finding_headline(shares)


def test_failure_patterns_use_percentages_from_details():
    failure = {**STEP_GUIDE, "dimension": "failures", "effect_kind": "odds_ratio", "effect": 9.9,
               "subject": {"slide_count_min": 8}, "details": {"share_in_worst": 0.857, "share_in_rest": 0.346}}
    text = finding_headline(failure)
    assert "86% of the worst fifth, against 35% of the others" in text and "9.9" not in text


def test_unknown_kinds_and_dimensions_degrade_to_a_careful_sentence():
    odd = {**STEP_GUIDE, "dimension": "mystery", "effect_kind": "hazard_ratio_v2", "metric": "watch_time_d14",
           "subject": {"sound": "trending_audio"}}
    text = finding_headline(odd)
    assert "watch time after 14 days" in text and text.endswith("(we're confident)")
    pooled = {**STEP_GUIDE, "effect_kind": "rate_ratio", "details": {"pooled": True}}
    assert "about 2× the views after 7 days" in finding_headline(pooled)


def test_metric_labels_cover_the_families():
    for metric in ("views_d7", "likes_d7", "engagement_rate_d7", "saves_per_view_d7", "shares_per_view_d7",
                   "views_d7_lift", "likes_d7_lift", "share_of_engagement", "days_since_last_post", "share_of_posts"):
        assert metric in METRIC_LABELS and "_" not in label(metric)
    assert label("late_share_d3_d21") == "share of day-21 numbers that came after day 3"
    assert label("comments_d14_lift") == "comments after 14 days, against the account's usual"
    assert label("some_new_column") == "some new column"


def test_proposal_headlines_say_what_to_do_and_why():
    rec = {"category": "format_weight", "confidence": "medium",
           "patch": [{"op": "test", "path": "/format_weights/step_guide", "value": 1.0},
                     {"op": "replace", "path": "/format_weights/step_guide", "value": 1.4}]}
    text = proposal_headline(rec, STEP_GUIDE)
    assert text.startswith("Make more step-by-step guides: on TikTok, step-by-step guides likely get about 2×")
    assert text.endswith("(probably, worth a test)")  # the proposal's own confidence, never the finding's
    slides = {"category": "slide_count", "confidence": "high",
              "patch": [{"op": "test", "path": "/optimal_slide_count", "value": 9},
                        {"op": "replace", "path": "/optimal_slide_count", "value": 6}]}
    finding = {**STEP_GUIDE, "subject": {"slide_count_min": 8}, "direction": "worse", "effect": 0.4}
    assert proposal_headline(slides, finding).startswith("Keep carousels under 8 slides (aim for 6): on TikTok, ")
    assert proposal_headline({"category": "cta_strategy", "confidence": "low"}, None) == \
        "Cta strategy (too few posts to tell)"


# --- total over the schema ----------------------------------------------------------------------

names = st.text(min_size=0, max_size=20)
numbers = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, names),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(names, inner, max_size=3)), max_leaves=8)
SUBJECT_KEYS = ["format", "content_pillar", "hook_style", "cta", "slide_count_min", "slide_count", "local_hour_range",
                "weekday", "hook_score", "posts_per_7_days", "formats", "content_pillars", "post_types", "accounts"]
findings = st.fixed_dictionaries(
    {"id": names, "dimension": st.sampled_from(DIMENSIONS), "claim": names,
     "metric": st.one_of(st.sampled_from(sorted(METRIC_LABELS) + ["late_share_d3_d21", "late_share_x"]), names),
     "groups": st.lists(st.fixed_dictionaries({"name": names, "n": st.integers(0, 10**6)}), max_size=4),
     "confidence": st.sampled_from(["high", "medium", "low"])},
    optional={"account": st.one_of(st.none(), names), "platform": st.sampled_from(["tiktok", "instagram", None]),
              "effect": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
              "effect_kind": st.one_of(st.none(), names, st.sampled_from(
                  ["ratio_of_medians", "adjusted_ratio", "ratio", "rate_ratio", "odds_ratio", "spearman_rho",
                   "cramers_v", "share", "days", "difference_of_medians", "ratio_spread"])),
              "ci": st.one_of(st.none(), st.lists(st.floats(allow_nan=False, allow_infinity=False),
                                                  min_size=2, max_size=2)),
              "direction": st.sampled_from(["better", "worse", "none"]),
              "subject": st.dictionaries(st.one_of(st.sampled_from(SUBJECT_KEYS), names), json_values, max_size=3),
              "details": st.dictionaries(st.one_of(st.sampled_from(
                  ["share_in_worst", "share_in_rest", "median", "median_rest", "window_days", "earlier_share",
                   "pooled"]), names), json_values, max_size=4)})


@settings(max_examples=300, deadline=None)
@given(findings)
@example({"id": "", "dimension": "formats", "claim": "", "metric": "account_name", "groups": [], "confidence": "high",
          "effect_kind": "ratio_spread", "account": None, "subject": {"accounts": [None]}})  # once "None stands out"
def test_any_schema_valid_finding_gets_a_headline(finding):
    FINDING_VALIDATOR.validate(finding)  # the strategy only makes findings the schema allows
    text = finding_headline(finding)
    assert isinstance(text, str) and text.strip() and text[0].isupper() or not text[0].isalpha()
    given = json.dumps(finding)   # a name may itself be "None" or "NaN": only a value printed as one fails
    assert text.endswith(")") and ("None" not in text.replace(finding.get("claim", ""), "") or "None" in given)
    given_words = given.lower()
    assert all(word not in text.lower().split() or word in given_words for word in ("nan", "inf"))


@settings(max_examples=150, deadline=None)
@given(findings, st.fixed_dictionaries({"category": names, "confidence": st.sampled_from(["high", "medium", "low"])},
                                       optional={"patch": json_values, "patches": json_values}))
def test_any_proposal_gets_a_headline(finding, rec):
    for found in (finding, None):
        text = proposal_headline(rec, found)
        assert isinstance(text, str) and text.strip()
