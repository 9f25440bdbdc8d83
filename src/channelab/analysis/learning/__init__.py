"""Learning across a programme of tests: the hierarchical model over their recorded effects.

:mod:`.studies` (what the model reads: one estimate and standard error per test), :mod:`.hierarchy`
(per channel and metric: mean effect μ and spread τ between tests), :mod:`.link` (whether tests
with bigger engagement gains also have bigger outcome gains) and :mod:`.programme`
(:func:`~.programme.learn`: fit both and summarise, with the winner's curse removed).
"""

from channelab.analysis.learning.programme import ChannelMetric, Impact, Learned, Link, TestEffect, learn
from channelab.analysis.learning.studies import Study
from channelab.spec import ProgrammePriors

__all__ = ["ChannelMetric", "Impact", "Learned", "Link", "ProgrammePriors", "Study", "TestEffect", "learn"]
