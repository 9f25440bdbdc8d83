"""The labs of a many-lab replication (``replication.labs``) and what they cannot be.

Each lab replicated the original's contrast on its own participants: its unit rows are a file in
the spec's data format (``data: path``), or its published per-arm table is given in the
``data.summaries`` format (``summaries:``). ``channelab replicate`` estimates the contrast in
each lab as a single-lab replication would and pools the labs (see
:mod:`channelab.replication.labs`).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

from pydantic import model_validator

from channelab.limits import MAX_LABEL, MAX_LABS
from channelab.spec.base import Strict
from channelab.spec.core import Metric
from channelab.spec.summaries import OriginalArm, table_problems

__all__ = ["Lab", "labs_problems"]


class Lab(Strict):
    """One lab of a many-lab replication: its name and its data, as rows or as published summaries.

    Give exactly one of ``data`` and ``summaries``.

    Attributes
    ----------
    name
        How the lab is named in the forest plot, the tables and the JSON (unique among the labs).
    data
        The lab's unit rows: a file (or glob) in the spec's data format (the columns, layout and
        file format of ``data:``); a relative path is resolved against the spec's folder.
    summaries
        Instead of ``data``: the lab's published per-arm table (n, and a proportion or a mean
        and sd per metric, each published or ``assumed``), in the ``data.summaries`` format:
        every arm and every metric of the spec.
    """

    name: str
    data: Path | None = None
    summaries: dict[str, OriginalArm] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Lab:
        if (self.data is None) == (self.summaries is None):
            raise ValueError(
                "give exactly one of data (the lab's unit rows) and summaries (its published per-arm table)"
            )
        return self


def labs_problems(
    labs: Sequence[Lab] | None,
    *,
    has_original: bool,
    metrics: Sequence[Metric],
    arms: Collection[str],
) -> list[str]:
    """What the labs of a many-lab replication cannot be, one line each, led by the key path.

    Parameters
    ----------
    labs
        ``replication.labs`` (``None`` when the spec has none).
    has_original
        Whether the spec has an ``original:`` block to judge the labs against.
    metrics, arms
        The spec's metrics and arm labels, which a lab's summaries must name.
    """
    if labs is None:
        return []
    if not has_original:
        return [
            "replication.labs: the labs replicate an original study, but the spec has no 'original:' "
            "block; describe the original's arms and published numbers (see "
            "experiments/ubc_slacktivism_study1.yaml), or remove replication.labs"
        ]
    if not 2 <= len(labs) <= MAX_LABS:
        return [
            f"replication.labs: got {len(labs)} lab{'s' * (len(labs) != 1)}, but pooling labs needs "
            f"between 2 and {MAX_LABS:,}; for one replication give its data under data: instead"
        ]
    problems = [
        f"replication.labs.{i}.name: {name!r} names another lab too; give each lab its own name"
        for i, name in _repeated([lab.name for lab in labs])
    ]
    for i, lab in enumerate(labs):
        problems += _name_problems(f"replication.labs.{i}.name", lab.name)
        if lab.summaries is not None:
            problems += table_problems(
                f"replication.labs.{i}.summaries", lab.summaries, metrics, arms, every_metric=True
            )
    return problems


def _repeated(names: list[str]) -> list[tuple[int, str]]:
    """(position, name) of every lab whose name an earlier lab already has (case-insensitive)."""
    counts: Counter[str] = Counter()
    out = []
    for i, name in enumerate(names):
        key = name.strip().casefold()
        if counts[key]:
            out.append((i, name))
        counts[key] += 1
    return out


def _name_problems(where: str, name: str) -> list[str]:
    """A lab name the reports cannot print: too long, blank or holding control characters."""
    out = []
    if not name.strip():
        out.append(f"{where}: is blank; name the lab (e.g. its site)")
    if len(name) > MAX_LABEL:
        out.append(f"{where}: got {len(name):,} characters, but expected at most {MAX_LABEL}; shorten it")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        out.append(f"{where}: holds a control character (tab, newline, ...); use plain text")
    return out
