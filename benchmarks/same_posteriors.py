"""Whether two sets of run reports state the same posteriors, within Monte Carlo error.

For every effect (arm × metric) of every run report (JSON) found in both folders, the distance
between the two posterior means of the absolute lift and of the log-lift, and between the two
ends of the absolute lift's interval, each in posterior standard deviations. Two independent
fits of the same posterior differ by about √2 Monte Carlo standard errors: with 4 chains × 1,000
draws and a bulk ESS of 2,000 or more, about 0.03 sd for a mean and 0.05–0.1 sd for an interval's
end, and a few times that at the largest of hundreds.

    python benchmarks/same_posteriors.py OLD_FOLDER NEW_FOLDER

Used to check that fitting each metric on its own (issue 36) changed no report beyond that:
copy the committed `reports/` aside, run `make examples`, and compare the two folders.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def _effects(path: Path) -> dict[tuple[str, str], dict]:
    report = json.loads(path.read_text())
    effects = report.get("effects") if isinstance(report, dict) else None
    if not isinstance(effects, list):
        return {}
    return {(e["arm"], e["metric"]): e for e in effects if isinstance(e, dict) and "arm" in e}


def _distances(old: dict, new: dict) -> dict[str, float]:
    """Each compared number's distance in posterior sds (NaN where the report lacks it)."""
    out = {}
    sd = old.get("diff_sd")
    a, b = old.get("abs_lift") or {}, new.get("abs_lift") or {}
    if sd and "mean" in a and "mean" in b:
        out["abs_lift mean"] = abs(a["mean"] - b["mean"]) / sd
        for k, end in enumerate(("low", "high")):
            if a.get("hdi") and b.get("hdi"):
                out[f"abs_lift {end}"] = abs(a["hdi"][k] - b["hdi"][k]) / sd
    la, lb = old.get("loglift") or {}, new.get("loglift") or {}
    if la.get("sd") and "mean" in la and "mean" in lb:
        out["loglift mean"] = abs(la["mean"] - lb["mean"]) / la["sd"]
    return {k: v for k, v in out.items() if math.isfinite(v)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    rows = []
    for path in sorted(args.old.glob("*.json")):
        other = args.new / path.name
        if not other.is_file():
            continue
        old, new = _effects(path), _effects(other)
        for key in old.keys() & new.keys():
            for what, d in _distances(old[key], new[key]).items():
                rows.append((d, path.name, *key, what))
    if not rows:
        raise SystemExit("no effect found in both folders")
    rows.sort(reverse=True)
    means = [r[0] for r in rows if r[-1].endswith("mean")]
    ends = [r[0] for r in rows if not r[-1].endswith("mean")]
    print(f"{len(rows)} numbers compared ({len(means)} means, {len(ends)} interval ends) in posterior sds")
    print(f"means: median {sorted(means)[len(means) // 2]:.3f}, largest {max(means):.3f}")
    if ends:
        print(f"interval ends: median {sorted(ends)[len(ends) // 2]:.3f}, largest {max(ends):.3f}")
    print("largest ten:")
    for d, name, arm, metric, what in rows[:10]:
        print(f"  {d:6.3f}  {name}: {arm} × {metric}, {what}")


if __name__ == "__main__":
    main()
