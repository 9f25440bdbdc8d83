"""Hostile inputs, round 2: money, dates and numbers at the edges of the experiment file and CLI.

Money that prices a harm as a gain or runs to 300 digits, dates outside any plausible test
(or not dates at all), seeds and counts past what the sampler and simulations can take, more
arms than a model can hold, and YAML's own traps (yes/no labels, keys past 1,024 characters,
1e300 read as text, numbers of thousands of digits). Every case is refused before any work,
through :func:`harness.run_case` (no traceback, no input changed, nothing written outside ``--out``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import CLEAN, RUN, VALIDATE, Case, run_case, spec, to_yaml

from channelab.limits import MAX_ARMS, MAX_METRICS

BIG = str(2**70)
LESS_OR_EQUAL = "less than or equal to"
DATE_RANGE = r"between 1970-01-01 and 2100-12-31"
NOT_A_DATE = r"expected a valid date written YYYY-MM-DD"
PUBLISHED = {
    "name": "published",
    "unit": {"kind": "participant"},
    "arm_column": "arm",
    "control": "public",
    "arms": ["public", "private"],
    "metrics": [{"name": "donation", "type": "revenue", "role": "revenue"}],
}


def valid(text: str, **files: str) -> Case:
    """``validate`` of the experiment file ``text`` over the clean rows, refused with exit 2."""
    return Case({"exp.yaml": text, "rows.csv": CLEAN, **files}, VALIDATE, 2, "")


def refused(text: str, match: str) -> Case:
    case = valid(text)
    case.match = match
    return case


def published(n: str = "31", mean: str = "0.34", sd: str = "0.48") -> str:
    """A per-arm table of published numbers, with the numbers written as given (YAML text)."""
    arm = f"      n: {n}\n      metrics:\n        donation: {{mean: {mean}, sd: {sd}}}\n"
    return to_yaml(PUBLISHED) + "data:\n  summaries:\n" + f"    public:\n{arm}    private:\n{arm}"


def guardrail(**fields: object) -> str:
    metrics = [*spec()["metrics"], {"name": "score", "type": "continuous", "role": "guardrail", **fields}]
    return to_yaml(spec(metrics=metrics))


def with_cost(**cost: object) -> str:
    return to_yaml(
        spec(arms={"control": {"channel": "control"}, "email": {"channel": "email", "cost": cost}})
    )


def cli(argv: list[str], match: str, files: dict | None = None) -> Case:
    """A command refused for an option's value (no rows file: nothing else could run)."""
    return Case({"exp.yaml": to_yaml(spec()), **(files or {})}, argv, 2, match)


def folder(path: Path) -> None:
    path.mkdir()


CASES: dict[str, Case] = {
    # ---- money: a harm priced as a gain, amounts past any budget ----------------------------
    "money-guardrail-harm-priced-as-gain": refused(
        guardrail(worse="up", value=40), r"metrics\.3\.value: got 40, .* gets worse when it goes up.*≤ 0"
    ),
    "money-guardrail-default-direction-priced-as-gain": refused(
        guardrail(value=40), r"metrics\.3\.value: got 40, .*the harm would count as a gain"
    ),
    "money-guardrail-fall-priced-as-gain": refused(
        guardrail(worse="down", value=-40), r"metrics\.3\.value: got -40, .*goes down.*≥ 0"
    ),
    "money-value-1e300": refused(
        to_yaml(spec(metrics=[{"name": "bought", "type": "binary", "role": "outcome", "value": 1e300}])),
        rf"metrics\.0\.value: got 1e\+300, but expected a value {LESS_OR_EQUAL} 1,000,000,000,000",
    ),
    "money-fixed-cost-1e300": refused(
        with_cost(fixed=1e300), rf"arms\.email\.cost\.fixed: got 1e\+300, .*{LESS_OR_EQUAL} 1,000,000,000,000"
    ),
    "money-per-touch-1e300": refused(
        with_cost(per_touch=1e300), r"arms\.email\.cost\.per_touch: got 1e\+300"
    ),
    "money-touches-1e300": refused(with_cost(per_touch=1, touches=1e300), r"cost\.touches: got 1e\+300"),
    "money-economics-units-huge": refused(
        to_yaml(spec(economics={"units": 10**15})), rf"economics\.units: got {10**15}, .*{LESS_OR_EQUAL}"
    ),
    # ---- dates: impossible, implausible, or not dates ---------------------------------------
    "date-as-of-february-30": refused(
        to_yaml(spec()) + "as_of: 2026-02-30\n", r"as_of: got '2026-02-30', .*day is out of range for month"
    ),
    "date-as-of-year-9999": refused(
        to_yaml(spec()) + "as_of: 9999-12-31\n", rf"as_of: got 9999-12-31, .*{DATE_RANGE}"
    ),
    "date-as-of-year-1900": refused(
        to_yaml(spec()) + "as_of: 1900-01-01\n", rf"as_of: got 1900-01-01, .*{DATE_RANGE}"
    ),
    "date-as-of-year-294247": refused(
        to_yaml(spec()) + "as_of: '294247-01-10'\n", rf"as_of: got '294247-01-10', .*{NOT_A_DATE}"
    ),
    "date-as-of-infinity": refused(
        to_yaml(spec()) + "as_of: infinity\n", rf"as_of: got 'infinity', .*{NOT_A_DATE}"
    ),
    "date-as-of-epoch": refused(to_yaml(spec()) + "as_of: epoch\n", rf"as_of: got 'epoch', .*{NOT_A_DATE}"),
    "date-as-of-a-number": refused(to_yaml(spec()) + "as_of: 0\n", rf"as_of: got 0, .*{NOT_A_DATE}"),
    "date-as-of-a-timestamp": refused(
        to_yaml(spec()) + "as_of: 2026-03-01 10:30:00\n", rf"as_of: got '2026-03-01 10:30:00', .*{NOT_A_DATE}"
    ),
    "date-cli-as-of-year-9999": cli(
        [*RUN, "--as-of", "9999-12-31"], rf"--as-of: got 9999-12-31, .*{DATE_RANGE}"
    ),
    "date-cli-as-of-february-30": cli(
        ["monitor", "exp.yaml", "--out", "out", "--as-of", "2026-02-30"],
        r"--as-of: .*day is out of range for month",
    ),
    # ---- seeds: 0 to 2**32 - 1 everywhere ---------------------------------------------------
    "seed-negative": refused(
        to_yaml(spec(seed=-5)), r"seed: got -5, but expected a value greater than or equal to 0"
    ),
    "seed-2-to-the-70": refused(
        to_yaml(spec(seed=2**70)), rf"seed: got {BIG}, .*{LESS_OR_EQUAL} 4,294,967,295"
    ),
    "cli-run-seed-2-to-the-70": cli([*RUN, "--seed", BIG], r"--seed.*less than or equal to 4294967295"),
    "cli-design-seed-2-to-the-70": cli(
        ["design", "exp.yaml", "--out", "out", "--seed", BIG], r"--seed.*less than or equal to 4294967295"
    ),
    "cli-simulate-seed-2-to-the-70": cli(
        ["simulate", "null", "--out", "sim", "--seed", BIG],
        r"--seed.*less than or equal to 4294967295",
        {"sim": folder},
    ),
    # ---- counts and numbers ------------------------------------------------------------------
    "published-n-1e300": refused(
        published(n="1.0e+300"), rf"summaries\.public\.n\.value: got 1e\+300, .*{LESS_OR_EQUAL}"
    ),
    "published-n-1e300-without-a-dot": refused(
        published(n="1e300"), r"summaries\.public\.n\.value: got 1e\+300"
    ),
    "published-n-too-many": refused(
        published(n="5e9"), r"summaries\.public\.n: got 5e\+09, .*between 2 and 1,000,000,000"
    ),
    "published-mean-1e200": refused(published(mean="1e200"), r"donation\.mean\.value: got 1e\+200"),
    "published-sd-1e200": refused(published(sd="1.0e+200"), r"donation\.sd\.value: got 1e\+200"),
    "yaml-integer-of-5000-digits": refused(
        to_yaml(spec()).replace("seed: 3", "seed: " + "9" * 5000), r"line \d+: a number with 5,000 digits"
    ),
    "yaml-float-of-5000-digits": refused(
        to_yaml(spec()) + "hdi_prob: 0." + "9" * 5000 + "\n", r"a number with 5,001 digits"
    ),
    "priors-sd-1e300": refused(
        to_yaml(spec()) + "priors: {arm_sd: 1e300}\n", rf"priors\.arm_sd: got 1e\+300, .*{LESS_OR_EQUAL} 100"
    ),
    "priors-arm-mean-1e300": refused(
        to_yaml(spec()) + "priors: {arm_mu: {email: -1e300}}\n", r"priors\.arm_mu\.email: got -1e\+300"
    ),
    "sampler-draws-a-billion": refused(
        to_yaml(spec(sampler={"draws": 10**9})), rf"sampler\.draws: got 1000000000, .*{LESS_OR_EQUAL} 100,000"
    ),
    "plan-assurance-sims-a-billion": refused(
        to_yaml(spec(plan={"assurance": {"sims": 10**9}})), r"plan\.assurance\.sims: got 1000000000"
    ),
    "plan-n-1e15": refused(to_yaml(spec(plan={"n": 10**15})), r"plan\.n: got 1000000000000000"),
    "plan-baseline-mean-1e300": refused(
        to_yaml(spec(plan={"baselines": {"visits": {"mean": 1e300}}})),
        r"plan\.baselines\.visits\.mean: got 1e\+300",
    ),
    "cli-design-sims-a-billion": cli(
        ["design", "exp.yaml", "--out", "out", "--sims", "1000000000"], r"--sims.*100000"
    ),
    "cli-design-rule-sims-a-billion": cli(
        ["design", "exp.yaml", "--out", "out", "--rule-sims", "1000000000"], r"--rule-sims.*100000"
    ),
    "cli-simulate-a-trillion-prospects": cli(
        ["simulate", "null", "--out", "sim", "--n-prospects", str(10**12)],
        r"--n-prospects.*2000000",
        {"sim": folder},
    ),
    "cli-monitor-every-5000-digits": cli(
        ["monitor", "exp.yaml", "--out", "out", "--every", "9" * 5000],
        r"--every: got '99999999999999999\.\.\.', .*from 1 to 366",
    ),
    "cli-monitor-every-400-days": cli(
        ["monitor", "exp.yaml", "--out", "out", "--every", "400"], r"--every: got '400'"
    ),
    # ---- arms and metrics: as many as a model and a report can hold -------------------------
    "arms-a-thousand": refused(
        to_yaml(spec(arms=["control", "email", *(f"arm{i}" for i in range(998))])),
        rf"arms: got 1,000 arms, but expected at most {MAX_ARMS}",
    ),
    "metrics-too-many": refused(
        to_yaml(
            spec(
                metrics=[
                    {"name": "bought", "type": "binary", "role": "outcome"},
                    *(
                        {"name": f"m{i}", "column": "visits", "type": "count", "role": "engagement"}
                        for i in range(MAX_METRICS)
                    ),
                ]
            )
        ),
        rf"metrics: List should have at most {MAX_METRICS} items",
    ),
    # ---- YAML's traps: yes/no labels, long keys ---------------------------------------------
    "yaml-yes-no-arm-keys": refused(
        to_yaml(spec(control="yes"))
        .replace("  control:\n    channel: control", "  yes:\n    channel: control")
        .replace("  email:\n", "  no:\n"),
        r"arms: got True as an arm label: YAML reads an unquoted yes, no.*quote the label",
    ),
    "yaml-yes-no-arm-list": refused(
        to_yaml(spec(arms=["CONTROL", "EMAIL"], control="yes"))
        .replace("- CONTROL", "- yes")
        .replace("- EMAIL", "- no"),
        r"arms: got True as an arm label.*quote the label",
    ),
    "yaml-yes-no-arm-flow-mapping": refused(
        to_yaml(spec(arms="ARMS")).replace("arms: ARMS", "arms: {on: {}, off: {}}"),
        r"arms: got True as an arm label.*quote the label",
    ),
    "yaml-yes-no-prior-key": refused(
        to_yaml(spec()) + "priors: {arm_mu: {no: 0.1}}\n",
        r"priors\.arm_mu \(a key\): got False, .*unquoted yes, no.*quote the label",
    ),
    "yaml-yes-no-original-arm-key": refused(
        to_yaml(spec())
        + "original:\n  citation: a paper\n  contrast: [email, control]\n  arms:\n    yes: {n: 30}\n",
        r"original\.arms \(a key\): got True, .*quote the label",
    ),
    "yaml-key-longer-than-1024": refused(
        to_yaml(spec()) + "k" * 1100 + ": 1\n",
        r"the key at line \d+ is 1,100 characters long, .*at most 1,024",
    ),
    "yaml-arm-label-longer-than-1024": refused(
        to_yaml(spec()).replace("  email:\n", "  " + "e" * 1500 + ":\n"),
        r"the key at line 12 is 1,500 characters long",
    ),
    "yaml-flow-key-longer-than-1024": refused(
        to_yaml(spec()) + "priors: {arm_mu: {" + "e" * 1030 + ": 0.1}}\n",
        r"is 1,030 characters long, .*at most 1,024",
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.slow) if case.fit else name for name, case in CASES.items()]
)
def test_hostile_bound(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run_case(CASES[name], tmp_path, monkeypatch)
