"""The learned-priors file that ``channelab learn`` writes and ``priors.from`` names: reading it.

A JSON document ``{"kind": "channelab learned priors", "version": 1, "name", "hdi_prob",
"provenance", "priors": [{"channel", "metric", "scale", "mean", "sd", "tests", "one_test"}]}``:
per channel and metric, the programme's prediction for the next test (Normal(mean, sd) on
``scale``: ``loglift`` or ``diff``). :func:`read_learned_priors` checks every entry and names the
first bad one; a file of another kind or version is refused, never guessed at.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channelab.errors import SpecError, shown
from channelab.limits import MAX_PRIOR, MAX_REPORT_BYTES
from channelab.spec import PriorEntries

__all__ = ["KIND", "VERSION", "LearnedPriors", "read_learned_priors", "usable_prediction"]


@dataclass(frozen=True, slots=True)
class LearnedPriors:
    """A learned-priors file as read.

    Attributes
    ----------
    path
        The file, as the spec names it.
    name
        The programme it was learned from.
    entries
        The predictions by (channel, metric).
    """

    path: str
    name: str
    entries: PriorEntries


#: The ``kind`` and ``version`` a learned-priors file carries.
KIND, VERSION = "channelab learned priors", 1


def usable_prediction(mean: float, sd: float) -> bool:
    """Whether a prediction may be a prior: finite, |mean| and sd within the priors' bound.

    The writer (``learn``) keeps only these, so that every file it writes is one ``run`` reads.

    Parameters
    ----------
    mean, sd
        The prediction on its scale.
    """
    return math.isfinite(mean) and math.isfinite(sd) and abs(mean) <= MAX_PRIOR and 0 < sd <= MAX_PRIOR


def _entry(path: Path, i: int, raw: Any) -> tuple[tuple[str, str], dict[str, Any]]:
    where = f"{path}: priors[{i}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} is not an object; re-create the file with `channelab learn`.")
    for field in ("channel", "metric"):
        if not isinstance(raw.get(field), str) or not raw[field]:
            raise SpecError(
                f"{where}.{field} is missing or not text; re-create the file with `channelab learn`."
            )
    if raw.get("scale") not in ("loglift", "diff"):
        raise SpecError(f"{where}.scale is {shown(raw.get('scale'))}; expected loglift or diff.")
    mean, sd, tests = raw.get("mean"), raw.get("sd"), raw.get("tests")
    if not isinstance(mean, (int, float)) or not math.isfinite(mean) or abs(mean) > MAX_PRIOR:
        raise SpecError(f"{where}.mean is {shown(mean)}; expected a finite number within ±{MAX_PRIOR:g}.")
    if not isinstance(sd, (int, float)) or not math.isfinite(sd) or not 0 < sd <= MAX_PRIOR:
        raise SpecError(f"{where}.sd is {shown(sd)}; expected a number above 0 and at most {MAX_PRIOR:g}.")
    if not isinstance(tests, int) or isinstance(tests, bool) or tests < 1:
        raise SpecError(f"{where}.tests is {shown(tests)}; expected a whole number of tests, at least 1.")
    return (raw["channel"], raw["metric"]), raw


def read_learned_priors(path: Path, *, named: str | None = None) -> LearnedPriors:
    """The programme's name and its predictions by (channel, metric), checked.

    Parameters
    ----------
    path
        A learned-priors file.
    named
        The file as the spec names it (default: ``path``).

    Returns
    -------
    LearnedPriors
        The programme's name, and per (channel, metric) its entry (scale, mean, sd, tests).

    Raises
    ------
    SpecError
        The file is missing, too large, not JSON, not a learned-priors file, of another version,
        or has an entry that is not valid (named, with what to do).
    """
    redo = "re-create it with `channelab learn`"
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise SpecError(
                f"{path}: larger than any learned-priors file ({MAX_REPORT_BYTES:,} bytes); {redo}."
            )
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"priors.from: cannot read {path} ({exc.strerror}); check the path.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SpecError(
            f"{path}: not a JSON file; priors.from names the .priors.json that `learn` writes."
        ) from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise SpecError(
            f"{path}: not a learned-priors file (no kind {KIND!r}); name the .priors.json `learn` wrote."
        )
    if document.get("version") != VERSION:
        raise SpecError(
            f"{path}: a learned-priors file of version {shown(document.get('version'))}; this channelab "
            f"reads version {VERSION}; {redo}."
        )
    if document.get("converged") is False:
        raise SpecError(
            f"{path}: the programme's fit did not converge, so its predictions are not to be started "
            "from; re-run `channelab learn` (more draws: sampler.draws, sampler.tune) until it converges."
        )
    entries = document.get("priors")
    if not isinstance(entries, list):
        raise SpecError(f"{path}: priors is not a list; {redo}.")
    name = str(document.get("name") or path.stem)
    return LearnedPriors(
        named or str(path), name, dict(_entry(path, i, raw) for i, raw in enumerate(entries))
    )
