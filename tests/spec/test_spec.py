"""The experiment definition: every bad file in tests/spec/bad_specs is refused with a precise message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from channelab.errors import SpecError
from channelab.spec import Priors, Spec, load_spec, parse_spec
from helpers import EXPERIMENTS, spec_dict

BAD_SPECS = Path(__file__).parent / "bad_specs"

#: File in tests/spec/bad_specs -> regex its SpecError must match (after the file name).
#: Each regex names the key path (or, for files that are not valid YAML, the line).
EXPECTED: dict[str, str] = {
    "unknown_top_level_key.yaml": r"metircs: unknown key; did you mean 'metrics'\?",
    "unknown_metric_key.yaml": r"metrics\.1\.roel: unknown key; did you mean 'role'\?",
    "unknown_arm_key.yaml": r"arms\.Mens E-Mail\.chanel: unknown key; did you mean 'channel'\?",
    "bad_role.yaml": (
        r"metrics\.1\.role: got 'outcom', but expected 'engagement', 'outcome', 'revenue' or 'guardrail'; "
        r"did you mean 'outcome'\?"
    ),
    "bad_metric_type.yaml": (
        r"metrics\.0\.type: got 'binomial', but expected 'binary', 'count', 'revenue', "
        r"'continuous', 'ratio' or 'quantile'"
    ),
    "control_not_an_arm.yaml": (
        r"control: got 'No Email', but expected one of the arms \['No E-Mail', 'Mens E-Mail'\]; "
        r"did you mean 'No E-Mail'\?"
    ),
    "missing_arm_column.yaml": r"arm_column: required key is missing",
    "bad_data_origin.yaml": (
        r"data\.origin: got 'simulation', but expected 'simulated', 'published' or 'observed'; "
        r"did you mean 'simulated'\?"
    ),
    "window_without_entry_date.yaml": (
        r"metrics\.0\.window_days: outcome dates and windows count from each unit's entry; "
        r"name its column in unit\.entered_at"
    ),
    "as_of_not_a_date.yaml": r"as_of: got 'last tuesday', but expected a valid date",
    "value_on_engagement.yaml": r"metrics\.0\.value: 'visit' is engagement, which is worth nothing by itself",
    "negative_cost.yaml": (
        r"arms\.Mens E-Mail\.cost\.per_unit: got -0\.4, but expected a value greater than or equal to 0"
    ),
    "control_cost_without_baseline.yaml": (
        r"arms\.No E-Mail\.cost: costs are incremental .* set economics\.costs_are: total"
    ),
    "one_arm.yaml": r"arms: got 1 arm\(s\), but expected the control and at least one treatment",
    "no_outcome_metric.yaml": r"metrics: no metric has role 'outcome' or 'revenue'.*add at least one",
    "duplicate_metric_names.yaml": (
        r"metrics\.1\.name: 'visit' is already the name of metrics\.0; give each metric its own name"
    ),
    "revenue_type_wrong_role.yaml": (
        r"metrics\.2\.role: got 'outcome' for metric 'spend' of type 'revenue', "
        r"but expected role 'revenue'"
    ),
    "rope_excludes_zero.yaml": (r"metrics\.0\.rope: got \[0\.1, 0\.2\], but expected .*-1 < low ≤ 0 ≤ high"),
    "hdi_prob_out_of_range.yaml": r"hdi_prob: got 94, but expected a value less than 1",
    "covariate_is_metric.yaml": (
        r"covariates: 'conversion' is also the column of metric 'conversion'; "
        r"a covariate must be measured before assignment"
    ),
    "malformed_indentation.yaml": (
        r"not valid YAML at line 5, column 10: mapping values are not allowed here\. "
        r"Check indentation"
    ),
    "unclosed_quote.yaml": r"not valid YAML .*quoted scalar that starts at line 3, column 8",
    "empty.yaml": r"the file is empty",
    "list_not_mapping.yaml": r"expected a mapping of keys .*, got a list",
    "python_object_tag.yaml": r"YAML tag refused at line 4: .*python/object/apply:os\.system",
    "intervals_not_rising.yaml": r"metrics\.0\.intervals: got \[14, 7, 21\], but the days must rise",
    "interval_beyond_window.yaml": (
        r"metrics\.0\.intervals: got \[7, 28\], but every cut must lie inside the 28-day"
    ),
    "survival_without_dates.yaml": r"metrics\.0\.time_model: survival needs a binary metric with at",
    "propensity_runs_code.yaml": (
        r"matching\.propensity: term 2 .*__import__\('os'\)\.system.* is not a column, a power \(x\^2\)"
    ),
}


def test_every_bad_spec_has_an_expected_message_and_a_comment():
    files = sorted(p.name for p in BAD_SPECS.glob("*.yaml"))
    assert files == sorted(EXPECTED)
    for name in files:
        first = (BAD_SPECS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{name}: first line must be a comment saying what is wrong"
        assert len(first) > 10, f"{name}: first line must say what is wrong"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_spec_is_refused_with_file_and_key_path(name):
    path = BAD_SPECS / name
    with pytest.raises(SpecError, match=re.escape(str(path)) + r": (.|\n)*" + EXPECTED[name]):
        load_spec(path)


def test_each_problem_is_on_its_own_line(tmp_path):
    raw = yaml.safe_load((BAD_SPECS / "one_arm.yaml").read_text(encoding="utf-8"))
    raw["control"] = "No Email"
    raw["metrics"][1]["name"] = "visit"
    raw["hdi_prob"] = 1.5
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = str(info.value).splitlines()[1:]
    assert lines == [
        "  - hdi_prob: got 1.5, but expected a value less than 1",
    ]
    # cross-key problems are only checked once every key is valid on its own
    raw["hdi_prob"] = 0.9
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = str(info.value).splitlines()[1:]
    assert [ln.split(":")[0] for ln in lines] == [
        "  - arms",
        "  - control",
        "  - metrics.1.name",
    ]


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    with pytest.raises(SpecError, match=re.escape(str(path)) + r": the file is empty"):
        load_spec(path)


def test_python_tag_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(SpecError, match=r"YAML tag refused at line 1"):
        load_spec(path)
    assert not marker.exists()


def test_missing_experiment_file(tmp_path):
    path = tmp_path / "experiments" / "nope.yaml"
    with pytest.raises(SpecError, match=re.escape(str(path)) + r": no such experiment file\. Check"):
        load_spec(path)


def test_flagship_experiment_loads():
    spec = load_spec(EXPERIMENTS / "hillstrom_email.yaml")
    assert isinstance(spec, Spec)
    assert spec.arm_order == ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]
    assert [m.name for m in spec.metrics_in_funnel_order] == ["visit", "conversion", "spend"]
    assert spec.covariates == ["zip_code", "channel", "newbie"]
    assert spec.data_path.resolve() == (EXPERIMENTS.parent / "data" / "hillstrom.csv").resolve()
    assert spec.planned_shares() == pytest.approx(dict.fromkeys(spec.arms, 1 / 3))
    assert spec.hdi_prob == 0.94


def test_spec_does_not_read_its_data(tmp_path):
    raw = spec_dict("does_not_exist_yet.csv", [{"name": "y", "role": "outcome", "type": "binary"}])
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_spec(path).data_path == tmp_path.resolve() / "does_not_exist_yet.csv"


@pytest.mark.parametrize(
    ("rope", "interval"),
    [(0.05, (-0.05, 0.05)), (0.1, (-0.1, 0.1)), ([-0.02, 0.05], (-0.02, 0.05)), ([0, 0.1], (0, 0.1))],
)
def test_rope_interval(rope, interval):
    spec = parse_spec(
        spec_dict("rows.csv", [{"name": "y", "role": "outcome", "type": "binary", "rope": rope}])
    )
    assert spec.metrics[0].rope_interval == interval


@pytest.mark.parametrize("rope", ["5%", [0.1, 0.2], [-0.1, -0.05], [-1.5, 0.1], 0, [0.1, 0.2, 0.3]])
def test_bad_rope(rope):
    metric = {"name": "y", "role": "outcome", "type": "binary", "rope": rope}
    with pytest.raises(SpecError, match=r"metrics\.0\.rope: got .*, but expected a relative half-width"):
        parse_spec(spec_dict("rows.csv", [metric]))


def test_priors_merge_defaults_then_spec_then_metric():
    metrics = [
        {"name": "a", "role": "engagement", "type": "binary"},
        {
            "name": "b",
            "role": "outcome",
            "type": "count",
            "priors": {"arm_sd": 0.2, "intercept_sd": 3.0, "arm_mu": {"treatment": 0.1}},
        },
    ]
    spec = parse_spec(spec_dict("rows.csv", metrics, priors={"arm_sd": 0.5, "covariate_sd": 0.7}))
    default = Priors()
    a = spec.priors_for(spec.metrics[0])
    b = spec.priors_for(spec.metrics[1])
    # metric a: spec-level values over the defaults
    assert (a.arm_sd, a.covariate_sd) == (0.5, 0.7)
    assert (a.intercept_sd, a.sigma_sd, a.dispersion_sd) == (
        default.intercept_sd,
        default.sigma_sd,
        default.dispersion_sd,
    )
    assert a.arm_mu == {}
    # metric b: its own values over the spec's, the spec's over the defaults
    assert (b.arm_sd, b.intercept_sd, b.arm_mu) == (0.2, 3.0, {"treatment": 0.1})
    assert b.covariate_sd == 0.7
    assert b.dispersion_sd == default.dispersion_sd
    # without any priors key, the documented defaults
    no_priors = {k: v for k, v in metrics[1].items() if k != "priors"}
    plain = parse_spec(spec_dict("rows.csv", [metrics[0], no_priors]))
    assert plain.priors_for(plain.metrics[1]) == default


def test_prior_for_unknown_arm_suggests():
    metric = {"name": "y", "role": "outcome", "type": "binary", "priors": {"arm_mu": {"treatmnt": 0.2}}}
    with pytest.raises(
        SpecError, match=r"priors\.arm_mu: 'treatmnt' is not a treatment arm; did you mean 'treatment'\?"
    ):
        parse_spec(spec_dict("rows.csv", [metric]))


def test_parse_spec_without_file_names_spec():
    with pytest.raises(SpecError, match=r"^<spec>: invalid experiment definition:\n  - name: got 'my exp'"):
        parse_spec(spec_dict("rows.csv", [{"name": "y", "role": "outcome", "type": "binary"}], name="my exp"))


_Y = {"name": "y", "role": "outcome", "type": "binary"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"adjust": ["y"]}, r"adjust\.0: 'y' is also the column of metric 'y'; a pre-period column must be"),
        ({"adjust": ["arm"]}, r"adjust\.0: 'arm' is also the arm column"),
        ({"adjust": ["segment"]}, r"adjust\.0: 'segment' is also a covariate \(a stratum\)"),
        ({"adjust": ["unit_id"]}, r"adjust\.0: 'unit_id' is also the unit id"),
        ({"adjust": ["x", "x"]}, r"adjust: a column is listed twice"),
        (
            {
                "adjust": ["x"],
                "data": {"path": "rows.csv", "layout": "aggregated"},
                "unit": {"kind": "prospect"},
            },
            r"adjust: aggregated rows hold no pre-period value per unit",
        ),
        (
            {"adjust": ["a", "b", "c", "d"], "model": {"adjust_bins": 10, "adjust_method": "strata"}},
            r"adjust: 4 columns x 10 bins make 10,000 strata per arm, but at most 1,000"
            r".*adjust_method: linear",
        ),
        ({"adjust": ["x"], "model": {"adjust_bins": 1}}, r"model\.adjust_bins: .*greater than or equal to 2"),
    ],
)
def test_adjust_refuses_what_cannot_be_a_pre_period_column(overrides, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec_dict("rows.csv", [_Y], **overrides))


def test_many_adjusted_columns_are_allowed_when_every_metric_adjusts_exactly():
    metric = {"name": "y", "role": "outcome", "type": "continuous"}
    spec = parse_spec(spec_dict("rows.csv", [metric], adjust=["a", "b", "c", "d"]))
    assert not spec.binned_adjustment
    assert parse_spec(spec_dict("rows.csv", [_Y], adjust=["a"])).binned_adjustment


def test_past_the_strata_cap_binary_count_and_revenue_adjust_linearly_by_default():
    """``adjust_method: auto``: strata while they fit, then every default likelihood becomes cell means."""
    metrics = [
        _Y,
        {"name": "calls", "role": "engagement", "type": "count"},
        {"name": "spend", "role": "revenue", "type": "revenue", "revenue_likelihood": "lognormal_hurdle"},
        {"name": "signup", "role": "outcome", "type": "binary", "denominator": "y"},
    ]
    few = parse_spec(spec_dict("rows.csv", metrics[:2], adjust=["a", "b"]))
    assert [m.likelihood.key for m in few.metrics] == ["binary", "count:negative_binomial"]
    columns = [f"x{j}" for j in range(12)]
    many = parse_spec(spec_dict("rows.csv", metrics[:2], adjust=columns))
    assert [m.likelihood.key for m in many.metrics] == ["binary:cell_means", "count:cell_means"]
    assert not many.binned_adjustment
    chosen = parse_spec(spec_dict("rows.csv", metrics[:3], adjust=["a"], model={"adjust_method": "linear"}))
    assert [m.likelihood.key for m in chosen.metrics] == [
        "binary:cell_means",
        "count:cell_means",
        "revenue:lognormal_hurdle",  # the spec chose it: kept, and adjusted through strata
    ]
    with pytest.raises(SpecError, match=r"make 244,140,625 strata.*adjust_method: linear"):
        parse_spec(spec_dict("rows.csv", metrics, adjust=columns))  # a share among clicks needs strata


def test_a_share_among_an_earlier_stage_cannot_be_modelled_by_cell_means():
    metrics = [
        _Y,
        {
            "name": "signup",
            "role": "outcome",
            "type": "binary",
            "denominator": "y",
            "binary_likelihood": "cell_means",
        },
    ]
    with pytest.raises(SpecError, match=r"metrics\.1\.binary_likelihood: 'cell_means' models a share of all"):
        parse_spec(spec_dict("rows.csv", metrics))


def test_every_check_reports_in_the_fixed_order():
    """One problem (or more) from each feature's check, reported in the order Spec runs them."""
    metrics = [
        {"name": "click", "role": "engagement", "type": "binary", "label": "a\tb", "value": 1.0},
        {"name": "click", "role": "engagement", "type": "binary"},
        {"name": "spend", "role": "outcome", "type": "revenue", "at": "arm"},
        {"name": "signup", "role": "engagement", "type": "binary", "denominator": "nosuch"},
    ]
    raw = spec_dict(
        "rows.csv",
        metrics,
        control="contrl",
        arms={"control": {"cost": {"per_unit": 1}}},
        covariates=["click", "segment", "segment"],
        adjust=["arm"],
        priors={"arm_mu": {"ghost": 0.1}},
        design="matched",
        plan={"baselines": {"clicks": {"mean": 0.1}}},
        assignment={"strata": ["a", "a"]},
        original={"citation": "x", "contrast": ["control", "treatment"], "arms": {}},
    )
    raw["data"] = {"summaries": {"control": {"n": 30, "metrics": {}}}}
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    keys = [ln.removeprefix("  - ").split(": ")[0] for ln in str(info.value).splitlines()[1:]]
    assert keys == [
        "metrics.0.label",  # labels
        "arms",  # arms
        "control",
        "metrics.1.name",  # metrics
        "metrics.2.role",
        "covariates",  # columns
        "covariates",
        "adjust.0",  # adjustment
        "adjust",
        "priors.arm_mu",  # priors
        "arms",  # matching
        "unit.id",  # data
        "design",
        "data.summaries",  # published summaries
        "data.summaries.control.metrics.click",
        "data.summaries.control.metrics.click",
        "data.summaries.control.metrics.spend",
        "data.summaries.control.metrics.signup",
        "metrics.3.denominator",  # funnel
        "metrics.2.at",  # timing
        "metrics.2",
        "metrics.2.at",
        "metrics.0.value",  # money
        "plan.baselines",  # plan
        "assignment.strata",  # assignment
        "original.contrast.0",  # original study
        "original.contrast.1",
    ]


@pytest.mark.parametrize(
    ("data", "origin"),
    [
        ({"path": "x.csv"}, "observed"),
        ({"path": "x.csv", "origin": "simulated"}, "simulated"),
        ({"path": "x.csv", "origin": "published"}, "published"),
    ],
)
def test_data_origin_defaults_to_observed_for_a_file(data, origin):
    raw = spec_dict("x.csv", [{"name": "y", "role": "outcome", "type": "binary"}], data=data)
    assert parse_spec(raw).data.resolved_origin == origin


def test_published_summaries_default_to_published_origin():
    assert load_spec(EXPERIMENTS / "ubc_study1_published.yaml").data.resolved_origin == "published"


def test_every_simulated_example_says_so():
    """Every example whose data file has a simulator's truth beside it declares ``origin: simulated``."""
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        data = load_spec(path).data
        if data is None or data.path is None:
            continue
        truth = (path.parent / data.path).with_suffix(".truth.json")
        folder = (path.parent / data.path).parent  # a glob of files: the truth is in their folder
        beside = "*" in data.path.name and any(folder.glob("*.truth.json"))
        simulated = truth.exists() or beside or data.path.name == "crm_weekly_aggregated.csv"
        assert (data.resolved_origin == "simulated") == simulated, path.name


def test_another_data_file_keeps_the_specs_origin():
    """``replicate --data`` swaps the path on a copy of the spec's data block: the origin stays."""
    data = load_spec(EXPERIMENTS / "ubc_slacktivism_study1.yaml").data
    swapped = data.model_copy(update={"path": Path("ubc_replication_null.csv")})
    assert swapped.resolved_origin == "simulated"
