"""Command line: ``channelab run``, ``validate``, ``design``, ``assign``, ``match``, ``replicate``, ...

Thin by design: parse arguments, call one function of :mod:`channelab.app`, print what it
returns. :class:`ChannelabError` is caught once, for every command (:class:`_Commands`), and
printed as one paragraph. Exit codes:

==== =====================================================================================
0    success
1    a crash: a bug in channelab (please report it with the traceback)
2    bad input: the spec or its data (:class:`~channelab.errors.SpecError`, ``DataError``)
3    the fit did not converge; the report is still written and marked "NOT CONVERGED"
4    the model could not be built or sampled from these cells (``ModelError``)
130  interrupted (Ctrl-C): stopped cleanly, earlier outputs left as they were
==== =====================================================================================

:mod:`.shell` holds the handler, consoles and shared options; :mod:`.experiments` the commands on
one experiment.

May import: errors, limits, files, spec, analysis, simulate, design, app.
"""

import channelab.cli.experiments
import channelab.cli.programme  # noqa: F401
from channelab.cli.shell import app, main

__all__ = ["app", "main"]
