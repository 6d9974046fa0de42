"""A quick exit for saetax's processes: the command itself and every worker it starts.

At exit Python's collector walks every object of every loaded module (torch,
transformers, scikit-learn, SciPy, numba, MkDocs) once more, most of a second or more,
and a pool or a nanny closing its workers waits for that. Frozen, the objects are
skipped; the process ends right after, so they never needed collecting.
"""

from __future__ import annotations

import atexit
import gc


def freeze_at_exit() -> None:
    """Freeze the collector's objects when this process ends, after the exit handlers
    registered later (Dask's among them) have run. Registered once, however often it is
    called in one process (tests run many commands). Measured on a 2-core EPYC: the exit
    after a cached rebuild of the demo 1.73-1.98 s -> 0.26-0.28 s; closing saetax's
    LocalCluster after 4 runs 0.96-1.15 s -> 0.17 s. Every file saetax writes is closed
    (and renamed into place) before."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
