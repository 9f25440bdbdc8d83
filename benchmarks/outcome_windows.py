"""Reading a test early: a fast and a slow channel with the same effect, naive and windowed.

Simulated tests of three arms (Control, Phone, Social): prospects enter on weekdays over
``--weeks`` weeks; a meeting is booked with probability 5 % under Control and 6 % (+20 %)
under both Phone and Social; it arrives after a delay whose mean is 8 days under Control,
3 under Phone and 18 under Social, always within 28 days (:class:`channelab.simulate.Arrival`),
so the lift in meetings within 28 days of entry is +20 % for both channels.

At each look the same rows, as they stood on that date, are analysed two ways with the same
model (meetings binary, one compiled model per analysis, refitted on every look):

- **naive**: ``at: meeting_at`` without a window: every entered prospect counts, with the
  meetings booked by the look date (what a dashboard shows);
- **windowed**: ``window_days: 28``: only prospects whose 28-day window has closed count.

Printed per look: the mean estimated lift of each channel, the gap Phone − Social (0 when
unbiased), how often each channel's 94 % HDI covers +20 %, and, for reference, how often the
Wald 94 % interval of the log risk ratio on the same counted units does (both channels): the
share a correct interval reaches on these very data sets.

    python benchmarks/outcome_windows.py [--reps 100] [--n 12000] [--weeks 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

from channelab.analysis.effects import compute_effects
from channelab.analysis.model import Refitter
from channelab.engine.aggregate import build_cells
from channelab.engine.source import frame_source
from channelab.simulate.timing import Arrival, entry_dates, iso, outcome_dates
from channelab.spec import Spec, parse_spec

ARMS = {"Control": "control", "Phone": "phone", "Social": "social"}
RATES = {"Control": 0.05, "Phone": 0.06, "Social": 0.06}
TRUE_LIFT = 0.20
WINDOW = 28
DRAWS = 500


def simulate(n: int, weeks: int, arrival: Arrival, seed: int) -> pd.DataFrame:
    """One test's rows as exported at its end: arm, entry date, meeting (0/1) and its date."""
    rng = np.random.default_rng(seed)
    labels = np.array(list(ARMS))
    arm = labels[rng.permutation(np.arange(n) % len(labels))]
    met = rng.random(n) < np.array([RATES[a] for a in arm])
    entered = entry_dates(rng.integers(1, weeks + 1, size=n), arrival, rng)
    booked = outcome_dates(entered, met, np.array([ARMS[a] for a in arm]), arrival, rng)
    return pd.DataFrame(
        {"arm": arm, "entered_at": iso(entered), "meeting": met.astype(int), "meeting_at": iso(booked)}
    )


def wald_covers(totals: pd.DataFrame, arm: str) -> bool:
    """Whether the Wald 94 % interval of the log risk ratio (the same counted units) covers +20 %."""
    (n0, k0), (n1, k1) = totals.loc["Control", ["n", "total"]], totals.loc[arm, ["n", "total"]]
    if min(k0, k1) == 0:
        return False
    log_rr = np.log((k1 / n1) / (k0 / n0))
    se = np.sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)
    return bool(abs(log_rr - np.log1p(TRUE_LIFT)) <= norm.ppf(0.97) * se)


def spec(window: int | None) -> Spec:
    metric = {"name": "meeting", "role": "outcome", "type": "binary", "at": "meeting_at"}
    if window is not None:
        metric["window_days"] = window
    return parse_spec(
        {
            "name": "windows",
            "unit": {"entered_at": "entered_at"},
            "data": {"path": "rows.csv"},
            "arm_column": "arm",
            "control": "Control",
            "arms": {a: {"channel": c} for a, c in ARMS.items()},
            "metrics": [metric],
            "sampler": {"draws": DRAWS, "tune": DRAWS},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=12_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    arrival = Arrival(weeks=args.weeks, delays=dict(zip(ARMS.values(), (8.0, 3.0, 18.0), strict=True)))
    last_look = args.weeks + WINDOW // 7 + 1
    looks = list(range(args.weeks - 2, last_look + 1, 2))
    analyses = {"naive": spec(None), "windowed": spec(WINDOW)}
    refit: dict[str, Refitter] = {}
    records = []
    start = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).spawn(args.reps)
    for rep, child in enumerate(seeds):
        data_seed, fit_seed = (int(x) for x in child.generate_state(2))
        rows = simulate(args.n, args.weeks, arrival, data_seed)
        with frame_source(rows, name="<windows>") as source:
            for week in looks:
                as_of = arrival.start + timedelta(days=7 * week)
                for name, s in analyses.items():
                    at = s.model_copy(update={"as_of": as_of})
                    cells = build_cells(source, at)
                    if name not in refit:
                        refit[name] = Refitter(cells, at)
                    post = refit[name].fit(cells, seed=fit_seed)
                    effects = compute_effects(post["posterior"].to_dataset(), cells, at, seed=at.seed)
                    totals = cells.arm_totals("meeting")
                    for e in effects.effects:
                        records.append(
                            {
                                "rep": rep,
                                "week": week,
                                "analysis": name,
                                "arm": e.arm,
                                "lift": e.lift.mean,
                                "covered": e.lift.lower <= TRUE_LIFT <= e.lift.upper,
                                "wald": wald_covers(totals, e.arm),
                                "counted": e.n_arm,
                            }
                        )
        if (rep + 1) % 10 == 0:
            print(f"  {rep + 1}/{args.reps} tests, {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame(records)
    print(
        f"\n{args.reps} tests of {args.n:,} prospects over {args.weeks} weeks; true lift +20 % for both "
        f"channels (in meetings within {WINDOW} days); delays: Phone 3 days, Social 18 days on average\n"
    )
    lift = table.pivot_table(index=["week", "analysis"], columns="arm", values="lift", aggfunc="mean")
    cover = table.pivot_table(index=["week", "analysis"], columns="arm", values="covered", aggfunc="mean")
    counted = table.pivot_table(index=["week", "analysis"], columns="arm", values="counted", aggfunc="mean")
    wald = table.pivot_table(index=["week", "analysis"], columns="arm", values="wald", aggfunc="mean")
    out = pd.DataFrame(
        {
            "Phone lift": lift["Phone"].map("{:+.1%}".format),
            "Social lift": lift["Social"].map("{:+.1%}".format),
            "gap (pp)": ((lift["Phone"] - lift["Social"]) * 100).map("{:+.1f}".format),
            "cover Phone": cover["Phone"].map("{:.0%}".format),
            "cover Social": cover["Social"].map("{:.0%}".format),
            "Wald cover": ((wald["Phone"] + wald["Social"]) / 2).map("{:.0%}".format),
            "Social units": counted["Social"].map("{:,.0f}".format),
        }
    )
    print(out.to_string())
    se = np.sqrt(0.94 * 0.06 / args.reps)
    print(f"\n(coverage's Monte Carlo se at 94 %: {se:.1%}; {time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
