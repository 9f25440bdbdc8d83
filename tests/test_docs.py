"""The docs cannot drift: the README's annotated spec parses, and every example experiment validates."""

from __future__ import annotations

import re

import pytest
import yaml

from channelab.spec import parse_spec
from helpers import ROOT


def test_readme_schema_example_parses():
    text = (ROOT / "README.md").read_text()
    section = text.split("## The experiment file", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    spec = parse_spec(yaml.safe_load(block))
    assert spec.name == "hillstrom_email"
    assert [m.role for m in spec.metrics_in_funnel_order] == ["engagement", "outcome", "outcome", "revenue"]
    assert spec.metrics[2].denominator == "visit"
    assert spec.priors_for(spec.metrics[3]).arm_sd == 0.5


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_experiment_validates_against_its_data(path):
    from channelab.pipeline import validate
    from channelab.spec import load_spec

    checked = validate(load_spec(path))
    assert checked.checks.errors == []
    assert checked.cells.n_units > 0
