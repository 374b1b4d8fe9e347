"""Kill points for the fault-injection suite (``make faults``, tests/test_faults.py): a build killed mid-stage.

A kill point is one call, :func:`point`, placed where a real build could die: inside fine-tuning,
between embedding and the LanceDB commit, after the commit, inside the index build, the pair
decision, the staging copy and the publish swap. With ``SEMANTIC_FAULT`` unset (always, outside the
suite) it costs one dictionary lookup. Set to a point's name, the process group is sent SIGKILL
there, the way an out-of-memory killer or a cancelled CI job ends a build: no ``finally``, no
``atexit``, no flush. ``SEMANTIC_FAULT_MARKER`` names a file the point appends its name to first,
so the suite knows the kill happened where it was aimed.
"""

from __future__ import annotations

import os
import signal

ENV = "SEMANTIC_FAULT"
ENV_MARKER = "SEMANTIC_FAULT_MARKER"

#: Every kill point, in the order a build reaches them.
POINTS = (
    "staging_copy",     # semantic build: the live DuckDB file half copied into staging
    "train",            # fine-tuning: after the first optimisation steps, before the version is saved
    "embed",            # a sync: texts embedded, nothing written to LanceDB yet
    "lance_write",      # a sync: LanceDB data files being written, not committed
    "lance_commit",     # a sync: LanceDB committed, the DuckDB mirror not yet written
    "index_build",      # the ANN index built and committed, not yet logged or its probes tuned
    "pair_decision",    # near-duplicate pairs being scored by the pair decision
    "publish_swap",     # semantic build: the finished build checkpointed, not yet renamed onto the live file
)


def point(name: str) -> None:
    """Die here (SIGKILL to the whole process group) when ``SEMANTIC_FAULT`` names this point."""
    if os.environ.get(ENV) != name:
        return
    marker = os.environ.get(ENV_MARKER)
    if marker:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    try:
        os.killpg(os.getpgid(0), signal.SIGKILL)
    finally:  # not the group leader's group (e.g. a session of its own): the process itself
        os.kill(os.getpid(), signal.SIGKILL)
