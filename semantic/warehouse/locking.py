"""One build at a time: an advisory lock per data folder (``fcntl.flock``, as pip's and Git's lock files do).

A build writes the DuckDB file and the LanceDB folder; two at once corrupt neither file but race on
the staging copy, the LanceDB commits and the registry. ``semantic build`` and the dbt plugin (a
plain ``dbt build``) both take the lock on ``<data folder>/.semantic-build.lock`` before they
write: a second build waits up to ``SEMANTIC_LOCK_TIMEOUT`` seconds (default 0) and then exits with
a message naming the holder (pid, start time, command). The kernel releases the lock when its
process dies, so a lock left by a killed build is taken over with no manual step; the file's text
only says who held it last.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from semantic.errors import SemanticLockError

LOCK_NAME = ".semantic-build.lock"
ENV_TIMEOUT = "SEMANTIC_LOCK_TIMEOUT"
#: Set by ``semantic build`` for its dbt child, which builds under the parent's lock.
ENV_HELD = "SEMANTIC_BUILD_LOCK_HELD"

_HELD: dict[Path, IO[str]] = {}


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock."""

    pid: int | None
    started_at: str | None
    command: str | None

    def describe(self) -> str:
        """One phrase naming the holder."""
        return f"pid {self.pid}, started {self.started_at} UTC: {self.command}"


def lock_path(data_dir: Path) -> Path:
    """The lock file of a data folder."""
    return data_dir / LOCK_NAME


def read_holder(path: Path) -> Holder:
    """What the lock file says about its last holder (empty fields when it says nothing readable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    return Holder(data.get("pid"), data.get("started_at"), data.get("command"))


def acquire(data_dir: Path, timeout: float | None = None, command: str | None = None) -> Path:
    """Take the build lock of ``data_dir`` for the rest of this process (or until :func:`release`).

    Re-entrant within a process: a second call for the same folder returns at once.

    Args:
        data_dir: The folder holding the DuckDB file and the LanceDB folder.
        timeout: Seconds to wait for another build (default: ``$SEMANTIC_LOCK_TIMEOUT`` or 0).
        command: What the lock file says the holder runs (default: this process's command line;
            ``semantic forget`` leaves out the ids it erases).

    Raises:
        SemanticLockError: Another process holds it past the timeout; the message names it.
    """
    path = lock_path(data_dir.resolve())
    if path in _HELD:
        return path
    if timeout is None:
        timeout = float(os.environ.get(ENV_TIMEOUT, "0") or 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the life of the lock
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                holder = read_holder(path)
                raise SemanticLockError(
                    f"another build holds {path} ({holder.describe()}; if that process has ended, the dbt "
                    f"build it started holds it); wait for it to finish, or set "
                    f"{ENV_TIMEOUT}=<seconds> to wait for it. A killed build's lock is released by the "
                    "system, so a lock that is held is held by a live process"
                ) from None
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(),
                             "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                             "command": (command or " ".join(sys.argv))[:300]}))
    handle.flush()
    _HELD[path] = handle
    return path


def held_fd(data_dir: Path) -> int | None:
    """The file descriptor of the lock this process holds on ``data_dir`` (None when it holds none).

    Passed to a child (``subprocess.run(pass_fds=…)``), it keeps the lock held while either process
    lives: ``semantic build`` hands it to dbt, so killing the parent leaves the running dbt locked.
    """
    handle = _HELD.get(lock_path(data_dir.resolve()))
    return handle.fileno() if handle is not None else None


def release(data_dir: Path) -> None:
    """Give the lock of ``data_dir`` back (a no-op when this process does not hold it)."""
    handle = _HELD.pop(lock_path(data_dir.resolve()), None)
    if handle is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
