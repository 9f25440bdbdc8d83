"""Randomised assignment: permuted blocks within strata, deterministic and stable under appends.

The randomisation units (prospects, or whole clusters when ``unit.randomised_by`` names a
rep, account or territory column) are taken in file order within each stratum (a combination
of the ``assignment.strata`` columns) and dealt into blocks. Each block holds the allocation
pattern (arm shares as small whole numbers, times ``assignment.block_multiple``) in an order
drawn from SHA-256 of (seed, stratum, block, slot): no random state, so

- the same seed and units give the same arms on any machine and NumPy version;
- appending units to the file leaves the arms of the units already there unchanged (they keep
  their stratum, position and block);
- every stratum matches the planned shares exactly, up to its one unfinished block.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from channelab.cohort.balance import covariate_parts, smd
from channelab.engine.duck import open_file
from channelab.engine.source import ROWS, quote
from channelab.errors import DataError, SpecError, first_few
from channelab.files import write_atomic
from channelab.spec import DataSource, Spec

_EXAMPLES = 3
#: Shares are turned into whole-number weights with denominators up to this.
_MAX_PATTERN = 100


@dataclass(frozen=True)
class AssignmentResult:
    """The assignment, one row per unit in file order, and its diagnostics.

    Attributes
    ----------
    units
        One row per unit in file order: the unit id, the cluster (if any), the strata columns,
        then ``stratum``, ``block`` and ``arm``.
    pattern
        The arms of one block (:func:`allocation_pattern`).
    balance
        Covariate, level, then one standardised mean difference column per treatment.
    allocation
        Stratum × arm counts, with the planned counts.
    not_in_units
        Covariates of the spec absent from the units file.
    """

    units: pd.DataFrame
    pattern: tuple[str, ...]
    balance: pd.DataFrame
    allocation: pd.DataFrame
    not_in_units: tuple[str, ...]


def allocation_pattern(spec: Spec, multiple: int = 1) -> tuple[str, ...]:
    """The arms of one block: the shares as the smallest whole numbers, repeated ``multiple`` times."""
    shares = spec.planned_shares()
    fractions = {a: Fraction(s).limit_denominator(_MAX_PATTERN) for a, s in shares.items()}
    scale = math.lcm(*(f.denominator for f in fractions.values()))
    counts = {a: int(f * scale) for a, f in fractions.items()}
    divisor = math.gcd(*counts.values())
    return tuple(a for a in spec.arm_order for _ in range(counts[a] // divisor)) * multiple


def assign(spec: Spec, units: pd.DataFrame, *, seed: int, name: str = "<units>") -> AssignmentResult:
    """Assign every unit of ``units`` (one row per unit) to an arm; see the module docstring.

    Parameters
    ----------
    spec
        The experiment: its arms and planned shares, ``unit`` (id and cluster column) and
        ``assignment`` (strata, block multiple).
    units
        One row per unit; not changed.
    seed
        Seeds the order within every block (through SHA-256, no random state).
    name
        The units' source, for messages.

    Returns
    -------
    AssignmentResult
        The arms, the blocks' pattern, covariate balance and allocation per stratum.

    Raises
    ------
    DataError
        If the id column is missing, ids are missing or repeated, a stratum value is missing,
        or a cluster's units disagree on a stratum.
    """
    uid = _require_id(spec, units, name)
    cluster = spec.unit.randomised_by
    strata = list(spec.assignment.strata)
    needed = [c for c in (cluster, *strata) if c]
    if absent := [c for c in needed if c not in units.columns]:
        raise DataError(
            f"{name}: no column {', '.join(map(repr, absent))} (assignment.strata / unit.randomised_by); "
            f"the file has {first_few(list(map(repr, units.columns)), 30)}."
        )
    _refuse_missing(units, [uid, *needed], name)
    _refuse_duplicates(units, uid, name)

    key = units[cluster].astype(str) if cluster else units[uid].astype(str)
    first = ~key.duplicated()
    rand_units = units.loc[first, [*([cluster] if cluster else [uid]), *strata]].copy()
    rand_units["__key"] = key[first].to_numpy()
    if cluster and strata:
        _refuse_split_strata(units, cluster, strata, name)
    labels = [rand_units[c].astype(str).to_numpy(dtype=object) for c in strata]
    rand_units["stratum"] = [" / ".join(parts) for parts in zip(*labels, strict=True)] if strata else "all"
    pattern = allocation_pattern(spec, spec.assignment.block_multiple)
    position = rand_units.groupby("stratum", sort=False).cumcount().to_numpy()
    rand_units["block"] = position // len(pattern)
    slot = position % len(pattern)
    orders: dict[tuple[str, int], list[int]] = {}
    arms = []
    for stratum, block, s in zip(rand_units["stratum"], rand_units["block"], slot, strict=True):
        order = orders.get((stratum, block))
        if order is None:
            order = orders[(stratum, block)] = _block_order(seed, stratum, int(block), len(pattern))
        arms.append(pattern[order[s]])
    rand_units["arm"] = arms

    by_key = rand_units.set_index("__key")
    out = units[list(dict.fromkeys([uid, *needed]))].copy()
    for col in ("stratum", "block", "arm"):  # every unit takes its randomisation unit's
        out[col] = key.map(by_key[col]).to_numpy()
    covariates = [c for c in dict.fromkeys([*spec.covariates, *strata]) if c in units.columns]
    return AssignmentResult(
        units=out,
        pattern=pattern,
        balance=_balance_table(units.assign(arm=out["arm"].to_numpy()), covariates, spec),
        allocation=_allocation(rand_units, spec),
        not_in_units=tuple(c for c in spec.covariates if c not in units.columns),
    )


def _block_order(seed: int, stratum: str, block: int, size: int) -> list[int]:
    """A permutation of range(size): the slots sorted by SHA-256 of (seed, stratum, block, slot)."""

    def draw(slot: int) -> bytes:
        return hashlib.sha256(f"{seed}\x1f{stratum}\x1f{block}\x1f{slot}".encode()).digest()

    return sorted(range(size), key=draw)


def _balance_table(rows: pd.DataFrame, covariates: list[str], spec: Spec) -> pd.DataFrame:
    """Standardised mean differences of each covariate (level) between each treatment and the control.

    SMD on the pooled SD of the two arms (:func:`channelab.cohort.balance.smd`); categories per level.
    """
    records = []
    in_control = (rows["arm"] == spec.control).to_numpy()
    for cov in covariates:
        for level, x, _ in covariate_parts(rows[cov]):
            record: dict[str, object] = {"covariate": cov, "level": level}
            for arm in spec.treatments:
                pair = in_control | (rows["arm"] == arm).to_numpy()
                treated = (rows["arm"] == arm).to_numpy()[pair]
                enough = treated.sum() > 1 and (~treated).sum() > 1
                record[arm] = smd(x[pair], treated, scale="pooled")[0] if enough else 0.0
            records.append(record)
    return pd.DataFrame(records, columns=["covariate", "level", *spec.treatments])


def _allocation(rand_units: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Randomised units per stratum and arm, with the largest gap to the planned count."""
    counts = pd.crosstab(rand_units["stratum"], rand_units["arm"]).reindex(
        columns=spec.arm_order, fill_value=0
    )
    total = counts.sum(axis=1)
    planned = np.outer(total, [spec.planned_shares()[a] for a in spec.arm_order])
    counts["off plan"] = np.abs(counts.to_numpy() - planned).max(axis=1).round(1)
    counts.insert(0, "units", total)
    return counts.reset_index()


def read_units(path: Path, *, delimiter: str = ",") -> pd.DataFrame:
    """Read the units file (CSV or Parquet) with every column as text, keeping ids exactly as written."""
    data = DataSource(path=path, delimiter=delimiter)
    with open_file(path, data, where="--units", text=True) as source:
        columns = ", ".join(quote(c) for c in source.columns)  # not the hidden row locators
        return source.duck.execute(f"SELECT {columns} FROM {ROWS}").df()


def write_assignment(result: AssignmentResult, path: Path, *, inputs: Iterable[Path] = ()) -> Path:
    """Write the assignment CSV; refuses to overwrite any of ``inputs`` (the units file, the spec)."""
    return write_atomic(path, result.units.to_csv(index=False, lineterminator="\n").encode(), inputs=inputs)


# ---- refusals -------------------------------------------------------------------------------


def _require_id(spec: Spec, units: pd.DataFrame, name: str) -> str:
    uid = spec.unit.id
    if uid is None:
        raise SpecError(
            f"{spec.source_path or '<spec>'}: unit.id: assignment needs the column that identifies each "
            "unit (e.g. prospect_id), so that the same unit always gets the same arm."
        )
    if uid not in units.columns:
        columns = first_few(list(map(repr, units.columns)), 30)
        raise DataError(f"{name}: no column {uid!r} (unit.id); the file has {columns}.")
    if units.empty:
        raise DataError(f"{name}: the units file has no rows.")
    return uid


def _rows(mask: pd.Series) -> str:
    """Example row numbers as in the file: line 1 is the header, so row i is line i + 2."""
    lines = (np.flatnonzero(mask.to_numpy())[:_EXAMPLES] + 2).tolist()
    return ", ".join(map(str, lines))


def _refuse_missing(units: pd.DataFrame, columns: list[str], name: str) -> None:
    problems = []
    for col in columns:
        missing = units[col].isna() | (units[col].astype(str).str.strip() == "")
        if missing.any():
            problems.append(
                f"column {col!r}: {int(missing.sum())} missing value(s) (e.g. lines {_rows(missing)})"
            )
    if problems:
        raise DataError(
            f"{name}: " + "; ".join(problems) + ". Every unit needs an id and a value for each stratum and "
            "cluster column; fill them in (or use a level such as 'unknown') and assign again."
        )


def _refuse_duplicates(units: pd.DataFrame, uid: str, name: str) -> None:
    repeated = units[uid].astype(str).duplicated(keep=False)
    if repeated.any():
        ids = units.loc[repeated, uid].astype(str).unique()
        raise DataError(
            f"{name}: {len(ids)} unit id(s) in column {uid!r} occur on more than one row "
            f"(e.g. {', '.join(map(repr, ids[:_EXAMPLES]))}, lines {_rows(repeated)}). Keep one row per unit."
        )


def _refuse_split_strata(units: pd.DataFrame, cluster: str, strata: list[str], name: str) -> None:
    varying = units.groupby(cluster, sort=False)[strata].nunique()
    bad = varying[(varying > 1).any(axis=1)]
    if not bad.empty:
        raise DataError(
            f"{name}: {len(bad)} cluster(s) in column {cluster!r} have units in different strata "
            f"(e.g. {', '.join(map(repr, bad.index.astype(str)[:_EXAMPLES]))}). Whole clusters are "
            "randomised, so stratify on cluster-level columns only (e.g. the rep's region, not the "
            "prospect's seniority)."
        )
