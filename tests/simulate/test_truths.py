"""Every simulator returns its truth as a frozen record, and writes exactly that record beside its data.

Fast (small simulations, no sampling).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from channelab.simulate import (
    ChannelsTruth,
    FunnelTruth,
    ObservationalTruth,
    ReplicationTruth,
    SelectionTruth,
    simulate_channels,
    simulate_funnel,
    simulate_observational,
    simulate_outreach,
    simulate_replication,
    simulate_selection,
    write_funnel,
    write_observational,
    write_replication,
    write_selection,
)
from channelab.simulate.funnel import FUNNEL_RATES


def test_each_simulator_returns_a_frozen_truth():
    truths = [
        (simulate_funnel(200, seed=1)[1], FunnelTruth),
        (simulate_selection(500, seed=1)[1], SelectionTruth),
        (simulate_observational("moderate", seed=1)[1], ObservationalTruth),
        (simulate_channels(500, seed=1)[1], ChannelsTruth),
        (simulate_replication(20, effect="null", seed=1)[1], ReplicationTruth),
    ]
    for truth, kind in truths:
        assert isinstance(truth, kind)
        with pytest.raises(dataclasses.FrozenInstanceError):
            truth.__setattr__("seed", 2)


def test_the_funnel_truth_holds_the_stage_rates_per_arm():
    _, truth = simulate_funnel(100, seed=3)
    assert truth.scenario == "funnel"
    assert truth.clicked == {arm: rates[0] for arm, rates in FUNNEL_RATES.items()}
    assert truth.enrolled_given_clicked == {arm: rates[1] for arm, rates in FUNNEL_RATES.items()}
    assert list(truth.to_dict()) == [
        "scenario",
        "seed",
        "n_per_arm",
        "clicked",
        "enrolled_given_clicked",
        "paid_given_enrolled",
    ]


def test_the_null_replication_has_no_effect_and_the_original_has_one():
    _, null = simulate_replication(10, effect="null", seed=1)
    _, original = simulate_replication(10, effect="original", seed=1)
    assert null.scenario == "ubc_replication_null"
    assert len(set(null.donated.values())) == 1
    assert original.donated["Private token"] > original.donated["Public token"]


def test_selection_credits_social_selling_with_meetings_it_did_not_cause():
    _, truth = simulate_selection(5000, seed=2)
    assert truth.att["likes_comments"] == pytest.approx(1.5)
    assert truth.att["meetings"] == pytest.approx(0.0)
    assert truth.naive["meetings"] > 0.2


@pytest.mark.parametrize(
    "write",
    [
        lambda path: write_funnel(path, n_per_arm=300, seed=1),
        lambda path: write_selection(path, n_accounts=400, seed=1),
        lambda path: write_observational(path, "moderate", seed=1),
        lambda path: write_replication(path, n_per_arm=10, effect="original", seed=1),
    ],
)
def test_the_truth_file_is_the_truth_record_and_the_data_hash(tmp_path, write):
    path = write(tmp_path / "sim.csv")
    doc = json.loads((tmp_path / "sim.truth.json").read_text())
    data = doc.pop("data")
    assert data == {
        "file": "sim.csv",
        "rows": len(path.read_text().splitlines()) - 1,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert doc["seed"] == 1
    assert list(doc) == [f.name for f in dataclasses.fields(_TRUTH_OF[doc.get("scenario", "observational")])]


_TRUTH_OF = {
    "funnel": FunnelTruth,
    "selection": SelectionTruth,
    "observational": ObservationalTruth,
    "ubc_replication_original": ReplicationTruth,
}


def test_outreach_verdicts_are_read_off_the_lifts():
    _, truth = simulate_outreach("slacktivism", n_prospects=600, seed=1)
    assert truth.verdicts == {arm: truth.verdict(arm) for arm in truth.lifts}
    assert truth.to_dict()["verdicts"] == truth.verdicts
