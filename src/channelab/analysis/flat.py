"""A PyMC model's log-density and draws as functions of one flat parameter vector of any length.

nutpie samples a vector ``x`` of unconstrained parameters; its log-density function takes ``x``
and returns the log-density and its gradient, its expansion returns every variable of the trace
from ``x``. nutpie's own builder cuts ``x`` at constant offsets, so the compiled code is fixed
to one length: one experiment's numbers of arms and levels. Here ``x`` is cut at offsets computed
from the model's dimension lengths, which PyMC keeps as shared variables, so data: one compiled
function serves every experiment of the same structure whatever its sizes. Each piece carries
its shape as a graph of those lengths, so that what the model derives from it (a zero-sum
effect's ``level - 1``) is plain arithmetic on the lengths, not on the pieces' shapes. The price
is a little speed: shapes the compiler knew become numbers read at run time (a gradient of the
monitored example's models costs about 10 % more than nutpie's own build of it).

What a run needs besides the compiled code (the shape of each variable, hence the cuts, the
vector's length and the trace's layout) is kept as a *shape rule*: per variable and axis, a
constant plus a whole multiple of each dimension's length (``arm`` is ``arm``; a zero-sum
effect's unconstrained value is ``level - 1``). :func:`shapes_for` turns the rules into shapes
for a run's sizes without building any graph. The rules are read off the model's shape graph at
compile time and checked at other sizes; a model whose shapes are not of this form, or whose
initial point differs within a variable, is *fixed*: it serves only the sizes it was built for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pymc as pm

__all__ = ["FlatFunctions", "flat_functions", "initial_point", "shapes_for"]

#: Per variable, per axis: the constant and each dimension's multiple.
Rule = list[tuple[int, dict[str, int]]]


@dataclass(frozen=True)
class FlatFunctions:
    """The compiled functions of one model over a flat vector, and how to lay out a run's sizes.

    Attributes
    ----------
    logp, expand
        PyTensor functions (numba mode) of the flat vector: (log-density, gradient), and every
        trace variable joined into one vector.
    names
        The trace variables: the free (unconstrained) ones first, then the rest.
    free
        How many of ``names`` are free: their values, in order, make the flat vector.
    rules
        Each variable's shape rule (module docstring).
    initial
        Each free variable's initial value (one number for the whole variable), or its values.
    fixed
        The dimension lengths the functions were built for when they serve no others, else None.
    reparameterized
        The free variables on a transformed scale.
    dims
        Each variable's dimensions, by name.
    """

    logp: Any
    expand: Any
    names: list[str]
    free: int
    rules: list[Rule]
    initial: list[float | list[float]]
    fixed: dict[str, int] | None
    reparameterized: list[str]
    dims: dict[str, list[str]]


def flat_functions(model: pm.Model, mode: str = "NUMBA") -> FlatFunctions:
    """Compile ``model``'s log-density with its gradient and its expansion over one flat vector.

    Parameters
    ----------
    model
        The PyMC model (its data in ``pm.Data`` containers).
    mode
        PyTensor's compile mode: numba for nutpie (its C wrappers call the functions).
    """
    import pytensor.tensor
    from pymc.pytensorf import compile as compile_pymc
    from pytensor.graph import clone_replace

    pt: Any = pytensor.tensor  # untyped
    rewrite_graph: Any = pytensor.graph.rewrite_graph
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    free_shapes = [_value_shape(model, rv) for rv in model.free_RVs]
    joined = pt.dvector("_unconstrained_point")
    parts = _pieces(joined, free_shapes, values)
    replacements = dict(zip(values, parts, strict=True))
    rewrites = ["canonicalize", "stabilize"]
    if not model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    logp = rewrite_graph(model.logp(), include=rewrites)
    grad = pt.concatenate(
        [pt.as_tensor(g, allow_xtensor_conversion=True).ravel() for g in pt.grad(logp, values)]
    )
    logp, grad = clone_replace([logp, grad], replacements)
    names = [v.name for v in values]
    rest = [v for v in model.unobserved_value_vars if v.name not in names]
    rest_tensors = [pt.as_tensor(v, allow_xtensor_conversion=True) for v in rest]
    joined_out = pt.concatenate([*(p.ravel() for p in parts), *(v.ravel() for v in rest_tensors)])
    with model:
        logp_fn = compile_pymc((joined,), (logp, grad), mode=mode)
        expand_fn = compile_pymc((joined,), [joined_out], givens=list(replacements.items()), mode=mode)
    # the shapes of the rest as graphs of the dimension lengths (each free value at its shape)
    sized = {v: pt.zeros(shape, dtype=v.dtype) for v, shape in zip(values, free_shapes, strict=True)}
    rest_shapes = clone_replace([pt.as_tensor(v.shape) for v in rest_tensors], sized)
    rules, at_base = _rules(model, [*free_shapes, *rest_shapes])
    initial = _initial(model, names)
    all_names = [*names, *(v.name for v in rest)]
    free_sizes = rules is not None and all(isinstance(v, float) for v in initial)
    rules = rules if rules is not None else _constant_rules(at_base)
    return FlatFunctions(
        logp=logp_fn,
        expand=expand_fn,
        names=all_names,
        free=len(names),
        rules=rules,
        initial=initial,
        fixed=None if free_sizes else {d: int(v.get_value()) for d, v in model.dim_lengths.items()},
        reparameterized=[
            model.rvs_to_values[v].name for v in model.free_RVs if model.rvs_to_transforms.get(v)
        ],
        dims=_dims(model, all_names, rules),
    )


def _pieces(joined: Any, shapes: list[Any], values: list[Any]) -> list[Any]:
    """The free values cut from ``joined`` in order, each at its shape (a graph of the lengths).

    Slices, not a ``Split``: views, no array of sizes to make per call. Each piece's shape is
    stated (``specify_shape``, or the reshape itself) so that the graphs downstream read the
    lengths, not the slices' bounds.
    """
    import pytensor.tensor

    pt: Any = pytensor.tensor  # untyped
    pieces, start = [], pt.constant(0, dtype="int64")
    for shape, value in zip(shapes, values, strict=True):
        stop = start + pt.prod(shape).astype("int64")
        flat = joined[start:stop]
        piece = pt.specify_shape(flat, shape) if value.ndim == 1 else flat.reshape(shape, ndim=value.ndim)
        pieces.append(piece.astype(value.dtype))
        start = stop
    return pieces


def shapes_for(rules: Sequence[Rule], sizes: Mapping[str, int]) -> list[tuple[int, ...]]:
    """The variables' shapes for a run whose dimensions have ``sizes``.

    Parameters
    ----------
    rules
        The variables' shape rules.
    sizes
        Each dimension's length.
    """
    return [
        tuple(int(const + sum(k * sizes[dim] for dim, k in coef.items())) for const, coef in rule)
        for rule in rules
    ]


def initial_point(
    initial: Sequence[float | Sequence[float]], shapes: Sequence[tuple[int, ...]]
) -> np.ndarray:
    """The flat initial point: each free variable's value repeated to its size (or its own values).

    Parameters
    ----------
    initial
        Each free variable's initial value, or its values.
    shapes
        The free variables' shapes for this run.
    """
    parts = [
        np.full(math.prod(shape), value) if isinstance(value, float) else np.asarray(value, dtype=np.float64)
        for value, shape in zip(initial, shapes, strict=True)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def _value_shape(model: pm.Model, rv: Any) -> Any:
    """The shape of ``rv``'s unconstrained value, as a graph of the model's dimension lengths."""
    import pytensor.tensor as pt
    from pytensor.graph import rewrite_graph

    transform = model.rvs_to_transforms.get(rv)
    value = transform.forward(rv, *rv.owner.inputs) if transform is not None else rv
    return rewrite_graph(pt.as_tensor(value.shape), include=("ShapeOpt", "canonicalize"))


def _rules(model: pm.Model, shapes: list[Any]) -> tuple[list[Rule] | None, list[tuple[int, ...]]]:
    """Each shape's rule, read off at the model's sizes and one more per dimension, checked at others.

    Returns None for the rules when a shape depends on anything but the dimension lengths or is
    not of the rule's form; the shapes at the model's own sizes are returned either way.
    """
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph import Constant, rewrite_graph
    from pytensor.graph.traversal import graph_inputs

    shapes = [rewrite_graph(s, include=("ShapeOpt", "canonicalize")) for s in shapes]
    dims = list(model.dim_lengths)
    lengths = [model.dim_lengths[d] for d in dims]
    inputs = [pt.lscalar(d) for d in dims]
    fn = pytensor.function(
        inputs,
        shapes,
        givens=list(zip(lengths, inputs, strict=True)),
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )
    base = {d: int(v.get_value()) for d, v in zip(dims, lengths, strict=True)}
    at_base = [tuple(int(k) for k in s) for s in fn(*base.values())]
    others = [i for i in graph_inputs(shapes) if not isinstance(i, Constant) and i not in lengths]
    if others:
        return None, at_base
    try:
        rules = _fitted(fn, base, at_base)
        check = {d: 2 * n + 1 for d, n in base.items()}
        fits = shapes_for(rules, check) == [tuple(int(k) for k in s) for s in fn(*check.values())]
    except Exception:  # an assertion of the graph at other sizes: the shapes are not free
        return None, at_base
    return (rules if fits else None), at_base


def _fitted(fn: Any, base: dict[str, int], at_base: list[tuple[int, ...]]) -> list[Rule]:
    """The rules through the shapes at ``base`` and at ``base`` plus one in each dimension."""
    coef: list[list[dict[str, int]]] = [[{} for _ in s] for s in at_base]
    for dim in base:
        moved = fn(*(n + (d == dim) for d, n in base.items()))
        for var, (old, new) in enumerate(zip(at_base, moved, strict=True)):
            for axis, (a, b) in enumerate(zip(old, new, strict=True)):
                if int(b) != a:
                    coef[var][axis][dim] = int(b) - a
    return [
        [(a - sum(k * base[d] for d, k in c.items()), c) for a, c in zip(shape, cs, strict=True)]
        for shape, cs in zip(at_base, coef, strict=True)
    ]


def _constant_rules(shapes: list[tuple[int, ...]]) -> list[Rule]:
    """Rules that give ``shapes`` at any sizes (a fixed model's)."""
    return [[(k, {}) for k in shape] for shape in shapes]


def _initial(model: pm.Model, names: list[str]) -> list[float | list[float]]:
    """Each free variable's initial value (the model's, unjittered): one number when all are equal."""
    from pymc.initial_point import make_initial_point_fn

    start = make_initial_point_fn(model=model, jitter_rvs=set(), return_transformed=True)(0)
    out: list[float | list[float]] = []
    for name in names:
        value = np.asarray(start[name], dtype=np.float64).ravel()
        uniform = value.size > 0 and bool(np.all(value == value[0]))
        out.append(float(value[0]) if uniform else [float(v) for v in value])
    return out


def _dims(model: pm.Model, names: list[str], rules: list[Rule]) -> dict[str, list[str]]:
    """Each variable's dimensions: the model's, and a transformed value's where it has its variable's."""
    dims = {name: list(d) for name, d in model.named_vars_to_dims.items()}
    rule_of = dict(zip(names, rules, strict=True))
    for value, rv in ((v.name, r.name) for v, r in model.values_to_rvs.items()):
        if value in rule_of and rv in dims and rule_of.get(rv) == rule_of[value]:
            dims[value] = dims[rv]
    return dims
