"""A run that starts from what the programme learned: ``priors.from`` in the spec.

The learned-priors file (written by ``channelab learn``) holds, per channel and metric, the
programme's prediction for the next test.
:func:`~channelab.engine.registry.priors_file.read_learned_priors` reads and checks it;
:func:`with_learned_priors` puts each prediction on the arm effect of every arm of that channel
(``arms.X.channel``, else the arm's label) for that metric, on the metric's link scale at this
test's control level (:func:`~channelab.analysis.learning.prior.link_prior`). The run then also
fits the default priors, so page 1 can show both.
"""

from __future__ import annotations

from pathlib import Path

from channelab.analysis.learning.prior import LearnedStart, PriorUse, start_from
from channelab.cells import Cells
from channelab.engine.registry.priors_file import read_learned_priors
from channelab.errors import SpecError
from channelab.spec import Spec

__all__ = ["LearnedStart", "PriorUse", "with_learned_priors"]


def with_learned_priors(spec: Spec, cells: Cells) -> tuple[Spec, LearnedStart | None]:
    """``spec`` with each learned prediction on its arms' effects; what was used and left.

    Parameters
    ----------
    spec
        The validated experiment (likelihoods as fitted).
    cells
        Its cells (the control's level of each metric).

    Returns
    -------
    tuple of (Spec, LearnedStart or None)
        The spec to fit, and how the file was used (None when the spec names none).

    Raises
    ------
    SpecError
        The file cannot be used (see :func:`read_learned_priors`), or the arms are pooled.
    """
    named = spec.priors.from_
    if named is None:
        return spec, None
    if spec.pools_arms:
        raise SpecError(
            "priors.from: a learned prior sets each arm's own prior, but this spec pools its arms' "
            "effects (model.pool_arms); set model.pool_arms: false to start from the programme's predictions."
        )
    learned = read_learned_priors(spec.resolve_path(Path(named)), named=named)
    return start_from(spec, cells, learned.entries, path=named, name=learned.name)
