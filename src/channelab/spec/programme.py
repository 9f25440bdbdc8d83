"""A programme of tests to learn from: what ``channelab learn`` reads (``experiments/*.yaml``).

Like an experiment file it is data: it names the records to pool (registries, folders of run
reports, run reports, tables of published summaries), relative to its own folder, and how to
pool them (seed, interval mass, priors of the channels' means and spreads, sampler settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from channelab.limits import MAX_PRIOR, MAX_PRIOR_LOG_SD, MAX_SEED, MAX_SOURCES, MAX_TITLE
from channelab.spec.base import Strict
from channelab.spec.core import Sampler

__all__ = ["PriorEntries", "Programme", "ProgrammePriors"]


#: What ``learn`` writes to a learned-priors file and ``priors.from`` reads: per (channel,
#: metric), the prediction for the next test (scale, mean, sd, tests).
PriorEntries = dict[tuple[str, str], dict[str, Any]]


class ProgrammePriors(Strict):
    """Priors of the programme model, on the log-lift scale (scaled per group on the difference scale).

    Attributes
    ----------
    mu_sd
        Prior sd of a channel's mean effect on log(1 + lift): 2.5, the per-test model's arm-effect
        scale, so that the data, not the prior, set the mean of a programme of a few tests (on the
        BCG trials a sd of 1 pulled the pooled log risk ratio 0.14 standard errors toward zero).
    tau_median, tau_log_sd
        The spread between tests τ is log-normal: log τ ~ Normal(log ``tau_median``,
        ``tau_log_sd``). The defaults, median 0.28 and 0.87 (94 % of the prior between 0.055 and
        1.4), are the predictive distribution of the spread learned from 14,886 meta-analyses of
        ratio effects (Turner et al. 2015, Statistics in Medicine 34:984, the marginal setting:
        log τ² ~ N(−2.56, 1.74²)): evidence of how much tests of one intervention differ. Its
        density is zero at no spread, so a few noisy tests do not shrink every test onto the
        mean, and it makes large spreads unlikely, so winners are not left unshrunk
        (``benchmarks/learn.py``).
    """

    mu_sd: Annotated[float, Field(gt=0, le=MAX_PRIOR)] = 2.5
    tau_median: Annotated[float, Field(gt=0, le=MAX_PRIOR)] = 0.28
    tau_log_sd: Annotated[float, Field(gt=0, le=MAX_PRIOR_LOG_SD)] = 0.87


class Programme(Strict):
    """A programme of tests and how to pool them.

    Attributes
    ----------
    name
        Names the outputs (``NAME.learn.pdf`` ...): letters, digits, ``_``, ``-`` and ``.``.
    title
        The report's title (default: the name).
    description
        What the programme is, in a paragraph.
    sources
        What to pool, relative to this file: registries (``.duckdb``), folders of run reports,
        run reports (``.json``) and tables of published per-test summaries (``.csv``). A test
        found twice (same spec hash and data) is counted once, and the report says so.
    seed
        Seeds the sampler and every draw.
    hdi_prob
        The mass of every interval reported.
    priors
        Priors of each channel's mean effect and of the spread between its tests.
    sampler
        MCMC settings.
    source_path
        The YAML file the programme was read from (set by the loader).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=MAX_TITLE)]
    title: Annotated[str, Field(max_length=MAX_TITLE)] | None = None
    description: str = ""
    sources: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=4096)]],
        Field(min_length=1, max_length=MAX_SOURCES),
    ]
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 20261123
    hdi_prob: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.94
    priors: ProgrammePriors = ProgrammePriors()
    sampler: Sampler = Sampler()
    source_path: Path | None = Field(default=None, exclude=True)

    @property
    def display_title(self) -> str:
        """The title, or the name with spaces."""
        return self.title or self.name.replace("_", " ")

    def resolve_path(self, p: Path) -> Path:
        """``p`` resolved against the programme file's folder when relative.

        Parameters
        ----------
        p
            A path named in the file.
        """
        if not p.is_absolute() and self.source_path is not None:
            p = (self.source_path.parent / p).resolve()
        return p
