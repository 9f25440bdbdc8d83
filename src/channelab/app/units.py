"""Commands that write unit files: ``assign`` (units to arms) and ``match`` (a matched cohort)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from channelab.app.experiments import inputs_of
from channelab.errors import SpecError
from channelab.files import check_outputs, write_atomic
from channelab.pipeline import StepCallback, Validation, validate, with_options
from channelab.spec import Spec, load_spec

if TYPE_CHECKING:
    from channelab.design.assign import AssignmentResult

__all__ = ["Assigned", "Matched", "assign_experiment", "match_experiment_cohort"]


@dataclass(frozen=True)
class Assigned:
    """An assignment of units to arms, and the CSV written.

    Attributes
    ----------
    spec
        The spec whose arms the units were assigned to, options applied.
    result
        The assignment, its allocation per stratum and its balance.
    path
        The assignment CSV written.
    """

    spec: Spec
    result: AssignmentResult
    path: Path


@dataclass(frozen=True)
class Matched:
    """A matched cohort (the validation that built it) and the CSV written.

    Attributes
    ----------
    validation
        The validation that built the cohort (its ``matching`` holds the cohort and its balance).
    path
        The matched cohort's CSV written, with weights.
    """

    validation: Validation
    path: Path


def assign_experiment(
    path: str | Path, *, units: str | Path, out: str | Path, seed: int | None = None
) -> Assigned:
    """Randomise the units file to the arms of the experiment at ``path``; write the CSV to ``out``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    units
        The units to assign (CSV or Parquet), one row per unit.
    out
        The assignment CSV to write.
    seed
        Overrides the spec's random seed.

    Returns
    -------
    Assigned
        The spec, the assignment and the path written.
    """
    from channelab.design.assign import assign, read_units, write_assignment

    spec = with_options(load_spec(path), seed=seed)
    units, out = Path(units), Path(out)
    inputs = inputs_of(spec, units)
    check_outputs([out], inputs=inputs)
    rows = read_units(units)
    result = assign(spec, rows, seed=spec.seed, name=str(units))
    return Assigned(spec, result, write_assignment(result, out, inputs=inputs))


def match_experiment_cohort(
    path: str | Path, *, out: str | Path, on_step: StepCallback | None = None
) -> Matched:
    """Build the matched cohort of a ``design: matched`` experiment; write it with weights to ``out``.

    Parameters
    ----------
    path
        The experiment file (YAML).
    out
        The matched cohort's CSV to write.
    on_step
        Called with a short description of each step as it starts.

    Returns
    -------
    Matched
        The validation that built the cohort and the path written.
    """
    spec = load_spec(path)
    if spec.design != "matched":
        raise SpecError(f"{path}: design is {spec.design!r}; `channelab match` needs design: matched.")
    inputs = inputs_of(spec)
    check_outputs([Path(out)], inputs=inputs)
    checked = validate(spec, on_step=on_step)
    if checked.matching is None:  # pragma: no cover - design: matched always matches
        raise SpecError(f"{path}: no matched cohort was built.")
    units = checked.matching.matched.units
    kept = units[units["weight"] > 0]
    written = write_atomic(Path(out), kept.to_csv(index=False, lineterminator="\n").encode(), inputs=inputs)
    return Matched(checked, written)
