"""Randomised assignment: exact within strata, deterministic, stable under appends, clusters whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from channelab.cli import app
from channelab.design.assign import allocation_pattern, assign, read_units, write_assignment
from channelab.engine.checks import run_checks
from channelab.engine.source import frame_source
from channelab.errors import DataError, OutputError, SpecError
from channelab.spec import parse_spec


def _spec(arms=None, strata=(), cluster=None, **extra):
    return parse_spec(
        {
            "name": "assign",
            "unit": {"kind": "prospect", "id": "prospect_id", "randomised_by": cluster},
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": arms or {"Control": {}, "Phone": {}, "Social": {}},
            "metrics": [{"name": "meetings", "role": "outcome", "type": "count"}],
            "covariates": ["tenure"],
            "assignment": {"strata": list(strata)},
            "seed": 9,
            **extra,
        }
    )


def _units(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "prospect_id": [f"P{i:05d}" for i in range(n)],
            "rep_id": [f"R{r:02d}" for r in rng.integers(0, 30, n)],
            "size": rng.choice(["smb", "mid", "enterprise"], n, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(["na", "emea"], n),
            "tenure": rng.gamma(2.0, 3.0, n).round(2),
        }
    )


def test_pattern_is_the_shares_in_whole_numbers():
    assert allocation_pattern(_spec()) == ("Control", "Phone", "Social")
    arms = {"Control": {"share": 0.5}, "Phone": {"share": 0.25}, "Social": {"share": 0.25}}
    assert allocation_pattern(_spec(arms)) == ("Control", "Control", "Phone", "Social")
    assert allocation_pattern(_spec(arms), 2) == ("Control", "Control", "Phone", "Social") * 2


def test_every_stratum_matches_the_planned_shares_up_to_one_block():
    arms = {"Control": {"share": 2}, "Phone": {"share": 1}, "Social": {"share": 1}}
    spec = _spec(arms, strata=["size", "region"])
    result = assign(spec, _units(5000), seed=1)
    units = result.units
    for _, group in units.groupby("stratum"):
        counts = group["arm"].value_counts().reindex(spec.arm_order, fill_value=0)
        complete = len(group) // 4 * 4
        head = group.iloc[:complete]["arm"].value_counts()
        assert head.get("Control", 0) == complete // 2  # complete blocks are exact
        assert head.get("Phone", 0) == head.get("Social", 0) == complete // 4
        planned = len(group) * np.array([0.5, 0.25, 0.25])
        assert np.all(np.abs(counts.to_numpy() - planned) <= 2)
    assert (result.allocation["off plan"] <= 2).all()
    assert set(units["stratum"]) == {
        f"{s} / {r}" for s in ("smb", "mid", "enterprise") for r in ("na", "emea")
    }


def test_same_seed_same_arms_and_appended_units_keep_theirs():
    spec = _spec(strata=["size"])
    first = assign(spec, _units(3000), seed=5).units
    again = assign(spec, _units(3000), seed=5).units
    pd.testing.assert_frame_equal(first, again)
    other = assign(spec, _units(3000), seed=6).units
    assert (other["arm"] != first["arm"]).mean() > 0.5
    appended = pd.concat(
        [_units(3000), _units(1000, seed=1).assign(prospect_id=lambda d: "N" + d["prospect_id"])]
    )
    later = assign(spec, appended.reset_index(drop=True), seed=5).units
    assert later["arm"].iloc[:3000].tolist() == first["arm"].tolist()


def test_clusters_are_never_split_and_stratify_on_cluster_columns():
    units = _units(3000)
    region_of_rep = {f"R{r:02d}": ("na" if r % 2 else "emea") for r in range(30)}
    units["rep_region"] = units["rep_id"].map(region_of_rep)
    spec = _spec(strata=["rep_region"], cluster="rep_id")
    result = assign(spec, units, seed=3)
    per_rep = result.units.groupby("rep_id")["arm"].nunique()
    assert (per_rep == 1).all()
    reps = result.units.drop_duplicates("rep_id")
    for _, group in reps.groupby("rep_region"):  # 15 reps per region: 5 blocks of 3
        assert group["arm"].value_counts().tolist() == [5, 5, 5]
    with pytest.raises(DataError, match=r"cluster\(s\) in column 'rep_id' have units in different strata"):
        assign(_spec(strata=["size"], cluster="rep_id"), units, seed=3)


def test_assigned_experiment_passes_the_sample_ratio_check():
    arms = {"Control": {"share": 2}, "Phone": {"share": 1}, "Social": {"share": 1}}
    spec = _spec(arms, strata=["size"])
    rows = assign(spec, _units(6000), seed=2).units
    rows["meetings"] = np.random.default_rng(0).poisson(0.2, len(rows))
    rows["tenure"] = 1.0
    report = run_checks(frame_source(rows), spec)
    assert report.srm_p > 0.9
    assert not report.warnings


def test_balance_table_reports_standardised_differences():
    spec = _spec()
    result = assign(spec, _units(6000), seed=4)
    rows = _units(6000).assign(arm=result.units["arm"])
    t, c = rows.loc[rows["arm"] == "Phone", "tenure"], rows.loc[rows["arm"] == "Control", "tenure"]
    expected = (t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2)
    balance = result.balance.set_index("covariate")
    assert balance.loc["tenure", "Phone"] == pytest.approx(expected)
    assert (balance[["Phone", "Social"]].abs() < 0.1).all().all()


def test_bad_units_are_refused_with_the_lines():
    units = _units(50)
    units.loc[7, "prospect_id"] = units.loc[3, "prospect_id"]
    with pytest.raises(
        DataError, match=r"1 unit id\(s\) in column 'prospect_id' occur on more than one row.*lines 5, 9"
    ):
        assign(_spec(), units, seed=1)
    units = _units(50)
    units.loc[[4, 10], "size"] = None
    with pytest.raises(DataError, match=r"column 'size': 2 missing value\(s\) \(e\.g\. lines 6, 12\)"):
        assign(_spec(strata=["size"]), units, seed=1)
    with pytest.raises(DataError, match=r"no column 'segment'"):
        assign(_spec(strata=["segment"]), _units(10), seed=1)
    no_id = _spec().model_copy(update={"unit": _spec().unit.model_copy(update={"id": None})})
    with pytest.raises(SpecError, match=r"unit\.id: assignment needs the column"):
        assign(no_id, _units(10), seed=1)


def test_ids_are_kept_as_written_and_the_units_file_is_never_overwritten(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("prospect_id,size\n007,smb\n010,mid\n")
    before = path.read_bytes()
    units = read_units(path)
    assert units["prospect_id"].tolist() == ["007", "010"]
    result = assign(_spec(), units, seed=1)
    with pytest.raises(OutputError, match="would overwrite an input"):
        write_assignment(result, path, inputs=[path])
    assert path.read_bytes() == before
    written = write_assignment(result, tmp_path / "out.csv", inputs=[path])
    assert written.read_text().splitlines()[1].startswith("007,")


def test_cli_assign_writes_the_file_and_prints_balance(tmp_path):
    import yaml

    units = _units(600)
    units.to_csv(tmp_path / "units.csv", index=False)
    spec = _spec(strata=["size"]).model_dump(mode="json", exclude_defaults=True)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(spec))
    runner = CliRunner()
    args = [
        "assign",
        str(tmp_path / "exp.yaml"),
        "--units",
        str(tmp_path / "units.csv"),
        "--out",
        str(tmp_path / "a.csv"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "600 units assigned by prospect_id in blocks of 3" in result.output
    assert "Balance" in result.output
    assert len(pd.read_csv(tmp_path / "a.csv")) == 600
    units.iloc[[0, 0]].to_csv(tmp_path / "units.csv", index=False)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "occur on more than one row" in result.output
