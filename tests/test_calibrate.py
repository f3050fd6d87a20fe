"""make calibrate, short: the analyzer finds planted 2x effects in nearly every account and claims
nothing where nothing differs (scripts/dev/calibrate.py; the full table is docs/calibration.md)."""
from __future__ import annotations

import pytest

from scripts.dev import calibrate

SEEDS = (1, 2)


@pytest.fixture(scope="module")
def signal():
    return calibrate.signal_row(2.0, 0.7, SEEDS)


def test_planted_2x_effects_are_found_in_nearly_every_account(signal):
    for name, cells in signal.cells.items():
        assert sum(cells) >= 0.85 * len(cells), (name, cells)
    assert signal.wrong_sign == 0


def test_a_null_world_gets_no_claim_and_no_proposal():
    row = calibrate.null_row(0.7, SEEDS)
    assert row.files == 4 * len(SEEDS)
    assert (row.high, row.proposals) == (0, 0), row.examples
    assert row.medium <= 0.01 * row.comparisons, row.examples


def test_one_standout_format_does_not_make_the_others_worse():
    """A 4x format among null ones: no other format is called worse, none better."""
    from dataclasses import replace
    truth = replace(calibrate.NO_EFFECTS, format_views=(("how_to", 4.0),))
    for seed in SEEDS:
        docs, _ = calibrate.analyze_world(calibrate.world(truth, seed, null=False))
        for doc in docs.values():
            wrong = [f["id"] for f in doc["findings"] if f["dimension"] == "formats" and f["confidence"] != "low"
                     and f["subject"].get("format") not in (None, "how_to")]
            assert not wrong, wrong
