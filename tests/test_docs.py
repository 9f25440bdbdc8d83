"""The README's annotated experiment file is a valid spec (the docs cannot drift from the schema)."""

from __future__ import annotations

import re

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
