"""A run that starts from a learned-priors file: which arms take which prior, and what is refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from channelab.engine.registry.priors_file import read_learned_priors
from channelab.errors import SpecError
from channelab.pipeline import analyse, validate
from channelab.pipeline.learned import with_learned_priors
from channelab.spec import load_spec
from helpers import mocked_sampling


def _write(tmp_path: Path, priors: object, **spec_changes: object) -> Path:
    rng = np.random.default_rng(0)
    n = 600
    arm = np.array(["control", "social", "mail"] * (n // 3))
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "arm": arm,
            "views": rng.poisson(np.where(arm == "social", 3.0, 1.0)),
            "meetings": (rng.random(n) < 0.1).astype(int),
        }
    )
    frame.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "learned.priors.json").write_text(json.dumps(priors))
    spec = {
        "name": "next_test",
        "unit": {"kind": "prospect", "id": "id"},
        "data": {"path": "rows.csv"},
        "arm_column": "arm",
        "control": "control",
        "arms": {
            "control": {"channel": "control"},
            "social": {"channel": "social"},
            "mail": {"channel": "email"},
        },
        "metrics": [
            {"name": "views", "type": "count", "role": "engagement", "count_likelihood": "poisson"},
            {"name": "meetings", "type": "binary", "role": "outcome"},
        ],
        "priors": {"from": "learned.priors.json"},
        "seed": 1,
        "sampler": {"draws": 200, "tune": 100, "chains": 2},
    } | spec_changes
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _file(*entries: dict) -> dict:
    return {"kind": "channelab learned priors", "version": 1, "name": "programme", "priors": list(entries)}


SOCIAL_MEETINGS = {
    "channel": "social",
    "metric": "meetings",
    "scale": "loglift",
    "mean": 0.01,
    "sd": 0.04,
    "tests": 14,
}
SOCIAL_VIEWS = {
    "channel": "social",
    "metric": "views",
    "scale": "loglift",
    "mean": 1.0,
    "sd": 0.3,
    "tests": 14,
}


def test_each_arm_of_a_learned_channel_starts_from_its_prediction_on_the_link_scale(tmp_path: Path) -> None:
    path = _write(tmp_path, _file(SOCIAL_MEETINGS, SOCIAL_VIEWS))
    checked = validate(load_spec(path))
    spec, start = with_learned_priors(checked.spec, checked.cells)
    assert start is not None
    assert start.name == "programme"
    by = {(u.arm, u.metric): u for u in start.uses}
    assert set(by) == {("social", "meetings"), ("social", "views")}  # e-mail was not learned about
    views = spec.priors_for(next(m for m in spec.metrics if m.name == "views"))
    assert views.arm_mu == {"social": 1.0}
    assert views.arm_sds == {"social": 0.3}
    meetings = spec.priors_for(next(m for m in spec.metrics if m.name == "meetings"))
    control = checked.cells.arm_totals("meetings")["mean"].iloc[0]
    assert meetings.arm_mu["social"] == pytest.approx(
        math.log(control * math.exp(0.01) / (1 - control * math.exp(0.01)))
        - math.log(control / (1 - control))
    )
    assert "mail" not in meetings.arm_sds


def test_a_run_reports_both_priors(tmp_path: Path) -> None:
    with mocked_sampling():
        analysis = analyse(load_spec(_write(tmp_path, _file(SOCIAL_MEETINGS))))
    assert analysis.learned is not None
    assert analysis.learned.default_effects is not None
    assert len(analysis.learned.uses) == 1
    assert {e.metric for e in analysis.learned.default_effects.effects} == {"views", "meetings"}


def test_a_file_naming_no_arm_of_the_test_says_so_and_fits_once(tmp_path: Path) -> None:
    other = dict(SOCIAL_MEETINGS, channel="phone")
    checked = validate(load_spec(_write(tmp_path, _file(other))))
    _spec, start = with_learned_priors(checked.spec, checked.cells)
    assert start is not None
    assert start.uses == ()
    assert "default priors" in start.notes[0]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "not a JSON file"),
        (json.dumps({"kind": "something else"}), "not a learned-priors file"),
        (json.dumps(_file() | {"version": 9}), "version 9"),
        (json.dumps(_file(dict(SOCIAL_MEETINGS, sd=-0.1))), r"priors\[0\]\.sd is -0\.1"),
        (json.dumps(_file(dict(SOCIAL_MEETINGS, mean=float("nan")))), r"priors\[0\]\.mean"),
        (json.dumps(_file(dict(SOCIAL_MEETINGS, scale="ratio"))), r"priors\[0\]\.scale"),
        (json.dumps(_file(dict(SOCIAL_MEETINGS, tests=0))), r"priors\[0\]\.tests"),
    ],
)
def test_a_bad_learned_priors_file_is_refused_naming_the_field(
    tmp_path: Path, content: str, match: str
) -> None:
    path = tmp_path / "x.priors.json"
    path.write_text(content)
    with pytest.raises(SpecError, match=match):
        read_learned_priors(path)


def test_pooled_arms_cannot_take_learned_priors(tmp_path: Path) -> None:
    checked = validate(load_spec(_write(tmp_path, _file(SOCIAL_MEETINGS), model={"pool_arms": True})))
    with pytest.raises(SpecError, match="pool_arms: false"):
        with_learned_priors(checked.spec, checked.cells)


def test_page_one_and_the_json_state_the_learned_start_and_the_default_result(tmp_path: Path) -> None:
    from channelab.reporting.json_report import analysis_json
    from channelab.reporting.pdf.leadership import learned_prior_sentence

    with mocked_sampling():
        analysis = analyse(load_spec(_write(tmp_path, _file(SOCIAL_MEETINGS))))
    sentence = learned_prior_sentence(analysis)
    assert sentence.startswith("Priors learned from programme")
    assert "social on meetings: +1.0 % (94 % interval" in sentence  # the label is the name here
    assert "from 14 tests" in sentence
    assert "Under the default priors: social on meetings" in sentence
    block = analysis_json(analysis)["learned_priors"]
    assert block["programme"] == "programme"
    assert [(u["arm"], u["metric"]) for u in block["uses"]] == [("social", "meetings")]
    assert {(e["arm"], e["metric"]) for e in block["default_prior_effects"]} >= {("social", "meetings")}
