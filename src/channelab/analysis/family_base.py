"""What every model family shares: the family interface, the graph's tensor types, and helpers.

The families themselves are in :mod:`.families` (and the time-to-event family in
:mod:`.survival`); this module holds only what they and the model builder share, so that a
family can live in its own module without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

import lazy_loader
import numpy as np
import xarray as xr

from channelab.cells import Cells, MetricCells, PrePeriod
from channelab.spec import Metric, Priors

if TYPE_CHECKING:
    import pytensor.tensor as pt
else:  # imported on first use: a run whose models are all compiled builds no graph
    pt = lazy_loader.load("pytensor.tensor", suppress_warning=True)  # pytensor: loaded anyway

__all__ = [
    "Family",
    "GroupEstimates",
    "Tensor",
    "Tensors",
    "by_group",
    "expand",
    "tensor_sum",
    "units",
    "var_prefix",
]

if TYPE_CHECKING:
    from pytensor.tensor.variable import TensorVariable

#: A symbolic tensor of the graph; PyTensor's own functions leave its type parameters open.
type Tensor = TensorVariable[Any, Any]
#: Tensors by name: the ``pm.Data`` containers, or each part's linear predictor.
Tensors = dict[str, Tensor]
#: Raw (estimate, standard error) per group (arm or cluster) on the link scale; NaN where a
#: group has no information (e.g. no deals, so no deal amounts).
GroupEstimates = tuple[np.ndarray, np.ndarray]


def tensor_sum(*args: Any, **kwargs: Any) -> Tensor:
    """``pt.sum``, whose signature PyTensor leaves untyped.

    Parameters
    ----------
    *args, **kwargs
        As :func:`pytensor.tensor.sum` takes them.
    """
    return cast("Callable[..., Tensor]", pt.sum)(*args, **kwargs)


class Family[S: MetricCells]:
    """Likelihood and mean function of one family, on its cell statistics ``S``.

    ``data`` returns the metric's arrays by container name; ``add_likelihood`` reads them back
    as tensors. Container names are ``{metric}:{statistic}`` and ``{metric}[.part]:centre``.
    """

    parts: ClassVar[tuple[str, ...]] = ("",)

    def data(self, name: str, s: S, n: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays of this metric (statistics and intercept-prior centres) by container name."""
        raise NotImplementedError

    def adjustment_data(self, name: str, s: S, n: np.ndarray, pre: PrePeriod) -> dict[str, np.ndarray]:
        """Arrays of the exact adjustment for pre-period columns.

        None unless the metric's likelihood adjusts exactly
        (:attr:`channelab.likelihoods.Likelihood.exact_adjustment`).
        """
        return {}

    def add_likelihood(self, name: str, d: Tensors, eta: Tensors, priors: Priors) -> None:
        """Add the cell-level likelihood of metric ``name`` to the model in context."""
        raise NotImplementedError

    def mean(
        self, name: str, s: S, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> np.ndarray:
        """Mean per unit on the data scale, from link-scale draws with dims (chain, draw, ...)."""
        raise NotImplementedError

    def part_means(
        self, name: str, s: S, n: np.ndarray, eta: dict[str, np.ndarray], post: xr.Dataset
    ) -> dict[str, np.ndarray]:
        """What g-computation averages over strata, by part: the mean per unit, unless a ratio's parts."""
        return {"": self.mean(name, s, n, eta, post)}

    def of_parts(
        self, metric: Metric, parts: dict[str, np.ndarray], cells: Cells, levels: Sequence[str] | None
    ) -> np.ndarray:
        """The population mean from the parts' averaged means (:meth:`part_means`): here the one mean.

        A ratio divides its numerator's by its denominator's; ``levels`` name the last axis
        (``model.lift_by``) for its messages.
        """
        return parts[""]

    def group_estimates(
        self, s: S, n: np.ndarray, group: np.ndarray, n_groups: int
    ) -> dict[str, GroupEstimates]:
        """Per part, the raw link-scale level of each group (arm, cluster) with its standard error."""
        raise NotImplementedError


def units(d: Tensors, name: str) -> Tensor:
    """The units per cell behind metric ``name``'s statistics: its own (an outcome window), or the cell's.

    Parameters
    ----------
    d
        The model's data containers by name (``{metric}:n`` when the metric counts fewer units
        than the cell, ``n_float`` for the cell's).
    name
        The metric's name.
    """
    return d.get(f"{name}:n", d["n_float"])


def by_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """A per-cell array summed per group (``group[c]`` is the group of cell ``c``).

    Parameters
    ----------
    values
        One value per cell.
    group
        The group of each cell.
    n_groups
        How many groups there are (groups without cells sum to 0).
    """
    return np.bincount(group, weights=values, minlength=n_groups)


def expand(x: np.ndarray, ndim: int) -> np.ndarray:
    """Append axes to ``x`` until it broadcasts against an array of ``ndim`` dimensions.

    Parameters
    ----------
    x
        The array, e.g. draws with dims (chain, draw).
    ndim
        The number of dimensions of the array it must broadcast against (at least ``x.ndim``).
    """
    return x.reshape(x.shape + (1,) * (ndim - x.ndim))


def var_prefix(metric: Metric, part: str) -> str:
    """Name prefix of one part's variables (``revenue.any``; a one-part metric's own name).

    Parameters
    ----------
    metric
        The metric.
    part
        One of its family's :attr:`Family.parts` (``""`` for a one-part metric).
    """
    return f"{metric.name}.{part}" if part else metric.name
