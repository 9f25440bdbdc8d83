"""One compiled model per metric, named for its structure only, and the draws joined back.

Every parameter of the model belongs to one metric (:mod:`.predictor` prefixes each with its
metric's name) and every likelihood term reads one metric's data, so the joint posterior of all
metrics is the product of each metric's own posterior. Each metric is therefore fitted alone:

- its sampler adapts its own step size and mass matrix, instead of the smallest step any
  metric needs (a joint fit of three metrics took 12 leapfrog steps per draw where each alone
  took 7);
- its model is compiled under a key without names or sizes (:func:`block_key`): the metric is
  called :data:`CANONICAL` in its graph, its covariates ``level0``, ``level1``, ... by position
  (:func:`canonical_levels`), and the arms and levels enter by number, in numbers the compiled
  code reads as data (:mod:`.flat`), so a new experiment file whose metric has the family,
  priors, number of covariates and settings of one compiled before (under any names, with any
  numbers of arms and levels, in any spec) reuses that compiled model and compiles nothing;
- draws of different metrics are independent given the data, so putting draw *d* of chain *c*
  of each metric side by side (:func:`join`) is a draw from the joint posterior, which the
  economics and the engagement→outcome comparisons need.

Each metric's fit has its own seed (:func:`block_seed`), so no two metrics share random numbers.
The metrics' samplers run side by side (:class:`Fitting`): a core one sampler leaves idle (its
last chains, the Python between fits) serves another, and no chain's draws depend on it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from channelab.analysis.compiled import structure_key
from channelab.spec import Metric, Spec

if TYPE_CHECKING:
    from channelab.analysis.sampler import Running

__all__ = ["CANONICAL", "Fitting", "block_key", "block_seed", "canonical_levels", "join", "renamed"]

#: What every metric is called inside its own compiled model.
CANONICAL = "y"
#: What the covariates and strata are called there: ``level0``, ``level1``, ... in the cells' order.
_LEVEL = "level"
#: A canonical level name inside a variable's name (``y:level0``, ``y:lift_by_level1_sd``).
_LEVEL_TOKEN = re.compile(rf"(?<=[:_]){_LEVEL}\d+(?=_|$)")
#: Metric fields that label it (columns, wording, money per outcome) and never enter its graph
#: (its role sets its default priors, which enter the key themselves).
_LABELS = frozenset(
    {"name", "column", "label", "role", "rope", "numerator", "denominator", "at", "value", "worse"}
)


def block_key(
    metric: Metric,
    spec: Spec,
    coords: Mapping[str, Sequence[str]],
    centring: Mapping[str, tuple[bool, bool]],
    data: Mapping[str, np.ndarray],
    level_dims: Mapping[str, str],
) -> str:
    """The compiled-model key of one metric's model: its structure, without any name or size.

    Parameters
    ----------
    metric
        The metric.
    spec
        The experiment (its priors for the metric, model settings and pooling).
    coords
        The coordinates of the metric's own model (canonical names); their dimensions' names
        enter the key, and their sizes only where the graph depends on them.
    centring
        The metric's centring per part.
    data
        The block's data containers (canonical names); their dtypes and ranks enter the key.
    level_dims
        The canonical name of each covariate and stratum (:func:`canonical_levels`).
    """
    priors = spec.priors_for(metric)
    arm_priors = [
        [priors.arm_mu.get(a, 0.0), priors.arm_sds.get(a, priors.arm_sd)] for a in coords["treatment"]
    ]
    sized = any(p != arm_priors[0] for p in arm_priors)
    return structure_key(
        {
            "block": 2,
            # the dimensions by name: one compiled model serves any sizes (.flat), unless the graph
            # holds a number per treatment (learned priors that differ by arm)
            "dims": {dim: len(labels) for dim, labels in coords.items()} if sized else sorted(coords),
            # centring changes the graph only where it is used: pooled arms, clusters
            "centring": {
                part: [arms and spec.pools_arms, clusters and "cluster" in coords]
                for part, (arms, clusters) in centring.items()
            },
            "data": {k: [str(v.dtype), v.ndim] for k, v in sorted(data.items())},
            "metric": metric.model_dump(mode="json", exclude=set(_LABELS)),
            "likelihood": metric.likelihood.key,
            "priors": priors.model_dump(mode="json"),
            # a learned prior per arm, by position: the same names in another order are another graph
            "arm_priors": arm_priors if sized else arm_priors[:1],
            "model": spec.model.model_dump(mode="json")
            | {"lift_by": level_dims.get(spec.model.lift_by or "")},
            "pools_arms": spec.pools_arms,
        }
    )


def block_seed(seed: int, index: int) -> int:
    """The sampler seed of the ``index``-th metric's fit, from the run's seed (the first keeps it).

    Parameters
    ----------
    seed
        The run's seed.
    index
        The metric's position among the modelled metrics.
    """
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def canonical_levels(levels: Iterable[str]) -> dict[str, str]:
    """The name of each covariate's (or stratum's) dimension in a metric's own model: by position.

    A spec whose covariates are named otherwise (``region`` for ``segment``) then has the same
    structure, and reuses the compiled model.

    Parameters
    ----------
    levels
        The covariates and strata, in the cells' order.
    """
    return {name: f"{_LEVEL}{i}" for i, name in enumerate(levels)}


def renamed(tree: xr.DataTree, name: str, level_dims: Mapping[str, str] | None = None) -> xr.DataTree:
    """A block's fit with the metric's own name in place of :data:`CANONICAL`, and the levels' own.

    Parameters
    ----------
    tree
        The fit of the metric's own model (``posterior`` and ``sample_stats``).
    name
        The metric's name.
    level_dims
        Each covariate's (and stratum's) canonical name (:func:`canonical_levels`).
    """
    own = {canonical: level for level, canonical in (level_dims or {}).items()}

    def named(v: str) -> str:
        return _LEVEL_TOKEN.sub(lambda m: own.get(m.group(0), m.group(0)), name + v[len(CANONICAL) :])

    posterior = tree["posterior"].to_dataset()
    ours = {str(v): named(str(v)) for v in [*posterior.data_vars, *posterior.dims] if _canonical(str(v))}
    ours |= {dim: own[dim] for dim in map(str, posterior.dims) if dim in own}
    out = xr.DataTree.from_dict(
        {"posterior": posterior.rename(ours), "sample_stats": tree["sample_stats"].to_dataset()},
        name=tree.name,
    )
    out.attrs.update(tree.attrs)
    return out


def _canonical(name: str) -> bool:
    """Whether a variable or dimension is the block metric's own (named by its prefix)."""
    return name == CANONICAL or name.startswith((f"{CANONICAL}:", f"{CANONICAL}."))


def join(trees: Sequence[xr.DataTree], names: Sequence[str]) -> xr.DataTree:
    """The metrics' fits as one posterior (draw by draw) and their sampler statistics by ``metric_fit``.

    The attributes are the first fit's.

    Parameters
    ----------
    trees
        Each metric's fit, renamed (:func:`renamed`), with the same chains and draws.
    names
        The metrics' names, in the same order.
    """
    if len(trees) == 1:
        return trees[0]
    stats = [t["sample_stats"].to_dataset() for t in trees]
    common = sorted(set.intersection(*(set(map(str, s.data_vars)) for s in stats)))
    joined_stats = xr.concat([s[common] for s in stats], dim="metric_fit", join="outer")
    attrs: dict[str, Any] = {str(k): v for k, v in trees[0].attrs.items()}
    out = xr.DataTree.from_dict(
        {
            "posterior": xr.merge([t["posterior"].to_dataset() for t in trees], join="exact"),
            "sample_stats": joined_stats.assign_coords(metric_fit=list(names)),
        }
    )
    out.attrs.update(attrs)
    return out


class Fitting:
    """The metrics' samplers of one fit, running side by side; :meth:`wait` joins their draws.

    Parameters
    ----------
    running
        Each metric's sampler, started (:func:`~.sampler.start_nutpie`), in the metrics' order.
    names
        The metrics' names.
    level_dims
        The covariates' and strata's canonical names (:func:`canonical_levels`).
    compile_seconds
        The seconds spent loading or compiling the models before the last sampler started.
    """

    def __init__(
        self,
        running: Sequence[Running],
        names: Sequence[str],
        level_dims: Mapping[str, str],
        compile_seconds: float,
    ) -> None:
        self._running, self._names, self._level_dims = list(running), list(names), dict(level_dims)
        self._compile_seconds = compile_seconds

    def wait(self) -> xr.DataTree:
        """The joint posterior, once every chain of every metric has finished.

        Its attributes record ``compile_seconds`` and ``sampling_seconds``: the seconds waited
        here for the draws (less than the sampling took when it ran while other work was done).
        """
        waited = time.perf_counter()
        try:
            trees = [sampler.wait() for sampler in self._running]
        finally:
            self.cancel()
        joined = join(
            [renamed(tree, name, self._level_dims) for tree, name in zip(trees, self._names, strict=True)],
            self._names,
        )
        joined.attrs.update(
            compile_seconds=self._compile_seconds, sampling_seconds=time.perf_counter() - waited
        )
        return joined

    def cancel(self) -> None:
        """Stop every sampler still running and discard its draws."""
        for sampler in self._running:
            sampler.cancel()
