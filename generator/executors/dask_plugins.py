"""Worker plugins for the LocalCluster saetax starts (`generator.executors.dask`).

Apart from `dask.py` because a plugin must subclass `distributed.WorkerPlugin`, and
importing `distributed` costs the client a second that a sequential build need not pay.
"""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from generator.quick_exit import freeze_at_exit


class QuickExit(WorkerPlugin):
    """`freeze_at_exit` in each worker of the LocalCluster saetax starts: the nanny
    waits for its worker's process to end when the cluster closes."""

    name = "saetax-quick-exit"

    def setup(self, worker: Any) -> None:
        freeze_at_exit()
