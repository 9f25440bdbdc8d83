"""The options of a command put into the spec once: the seed, the engine, the analysis date, the looks.

A command's options (``--seed``, ``--engine``, ``--as-of``, ``--every``) override what the spec
says. :func:`with_options` writes them into the spec, validated again as a whole, so that
everything downstream reads ``spec.seed``, ``spec.engine``, ``spec.as_of`` and
``spec.monitor.every`` only, and none of it has a seed of its own to default.
"""

from __future__ import annotations

from datetime import date

from channelab.engine import Engine
from channelab.spec import Spec, parse_spec


def with_options(
    spec: Spec,
    *,
    seed: int | None = None,
    engine: Engine | None = None,
    as_of: date | None = None,
    every: str | int | None = None,
) -> Spec:
    """``spec`` with the options given, validated again as a whole (the one place options apply).

    An option left out (``None``) or equal to the spec's own value changes nothing; with no
    change, ``spec`` itself is returned.

    Parameters
    ----------
    spec
        The experiment as read from its file.
    seed
        The random seed of every draw (``spec.seed``): sampling, effects, simulations.
    engine
        The engine that reads and aggregates the rows (``spec.engine``).
    as_of
        The analysis date (``spec.as_of``): the test as it stood then.
    every
        Days between the looks of a monitored test: ``week``, ``day`` or a number of days
        (``spec.monitor.every``).

    Returns
    -------
    Spec
        The spec to run.

    Raises
    ------
    SpecError
        If the spec with these options is not valid, e.g. an analysis date without
        ``unit.entered_at``, or published summaries read with Spark.
    """
    changes: dict[str, object] = {}
    if seed is not None and seed != spec.seed:
        changes["seed"] = seed
    if engine is not None and engine != spec.engine:
        changes["engine"] = engine
    if as_of is not None and as_of != spec.as_of:
        changes["as_of"] = as_of
    if every is not None and every != spec.monitor.every:
        changes["monitor"] = {**spec.monitor.model_dump(exclude_unset=True), "every": every}
    if not changes:
        return spec
    return parse_spec({**spec.model_dump(exclude_unset=True), **changes}, source=spec.source_path)
