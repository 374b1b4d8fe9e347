"""Atomic publishing of a DuckDB build: build a copy beside the live file, then swap it in with one rename.

DuckDB takes an exclusive lock for a read-write connection, so ``dbt build`` fails while a BI tool
holds the file open read-only, and a reader of a file built in place sees each model as it lands.
Here dbt writes to a copy with the *same file name* in a staging folder (DuckDB names the catalog
after the file's stem and dbt-duckdb writes fully-qualified names, e.g. views on
``"semantic_assets"."main"."x"``), and ``os.replace`` renames it onto the live path (POSIX
``rename(2)``: atomic on one filesystem). A reader that holds the old file keeps reading the old
inode until it reconnects; every new connection opens the new file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from semantic import faults
from semantic.errors import SemanticPublishError

logger = logging.getLogger(__name__)

STAGING_DIR_NAME = ".building"
WAL_SUFFIX = ".wal"

_Stamp = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]


def _wal(path: Path) -> Path:
    return path.with_name(path.name + WAL_SUFFIX)


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _stamp(path: Path) -> _Stamp:
    return (_file_stamp(path), _file_stamp(_wal(path)))


def _write_lock_holder(path: Path) -> str | None:
    """DuckDB's message naming the process that holds ``path`` read-write, or None when none does."""
    import duckdb

    if not path.exists():
        return None
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as e:
        if "lock" in str(e).lower():
            return str(e).split(". However", 1)[0]
        return None  # not a usable database file (e.g. a leftover from a crash): no one holds it
    return None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Staging:
    """A build in progress: where dbt writes, and what the live file looked like when it was copied.

    Attributes:
        live: The DuckDB file readers open (``data/semantic_assets.duckdb``).
        path: The copy dbt builds into: the same file name in the staging folder.
        live_stamp: Inode, size and mtime of the live file and its WAL when copied; the swap refuses
            when they changed, since a writer's changes to the live file would be lost.
    """

    live: Path
    path: Path
    live_stamp: _Stamp


def staging_path(live: Path, staging_dir: Path | None = None) -> Path:
    """Return the file a build writes to: ``live``'s name inside ``staging_dir`` (default ``<folder>/.building``)."""
    live = Path(live).absolute()
    return Path(staging_dir or live.parent / STAGING_DIR_NAME).absolute() / live.name


def prepare(live: Path, staging_dir: Path | None = None) -> Staging:
    """Copy the live DuckDB file (and its WAL) into a fresh staging folder, for dbt to build into.

    Copying only reads the live file, so it works while readers hold it open read-only; the copy
    keeps incremental models' state. Leftovers of a crashed or failed build are removed first.

    Args:
        live: The DuckDB file readers open; it need not exist yet (first build).
        staging_dir: Where to build (default ``<live folder>/.building``); must be on the live
            file's filesystem.

    Raises:
        SemanticPublishError: Another process holds the live file (or the staging copy) read-write,
            or the staging folder is on another filesystem.
    """
    live = Path(live).absolute()
    target = staging_path(live, staging_dir)
    live.parent.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.stat(target.parent).st_dev != os.stat(live.parent).st_dev:
        raise SemanticPublishError(
            f"the staging folder {target.parent} is on another filesystem than {live}, so the new build "
            f"cannot be renamed onto it atomically; pass a staging folder on the same filesystem, e.g. "
            f"--staging-dir {live.parent / STAGING_DIR_NAME} (and make sure it is not a mount point or a "
            "symlink to another disk)"
        )
    holder = _write_lock_holder(live)
    if holder:
        raise SemanticPublishError(
            f"{live} is open read-write in another process ({holder}); a build would overwrite what it "
            "writes. Close that process (a running `dbt build`, a notebook with semantic.connect(), a BI "
            "tool connected read-write) and run again; readers should open the file read-only"
        )
    holder = _write_lock_holder(target)
    if holder:
        raise SemanticPublishError(
            f"another build is writing {target} ({holder}); wait for it to finish, or stop it, and run again"
        )
    if target.exists():
        logger.info("semantic build: removing the previous failed or interrupted build %s", target)
    for leftover in (target, _wal(target)):
        leftover.unlink(missing_ok=True)
    stamp = _stamp(live)
    if live.exists():
        try:
            shutil.copyfile(live, target)
            faults.point("staging_copy")
            if _wal(live).exists():  # a writer crashed before checkpointing: the WAL holds its last commits
                shutil.copyfile(_wal(live), _wal(target))
        except OSError as e:
            for leftover in (target, _wal(target)):
                leftover.unlink(missing_ok=True)
            raise SemanticPublishError(
                f"could not copy {live} to {target} to build in: {e.strerror or e}. Free space on that disk (the "
                f"copy needs {live.stat().st_size // 1_000_000 + 1} MB) and run again; the live file is untouched"
            ) from None
    staging = Staging(live=live, path=target, live_stamp=stamp)
    if _stamp(live) != stamp:
        raise SemanticPublishError(
            f"{live} changed while it was being copied to {target}: another process is writing it; "
            "close it and run again"
        )
    return staging


def publish(staging: Staging) -> Path:
    """Swap the finished build in: checkpoint it, then rename it onto the live path in one step.

    Readers holding the old file keep their snapshot; new connections open the new file. A WAL the
    live file had (from a crashed writer) was copied into the build, and is removed before the
    rename so that DuckDB never replays it onto the new file.

    Raises:
        SemanticPublishError: The build wrote no file, a writer holds the live file, or the live
            file changed since it was copied (its changes would be lost). The build stays in
            staging and the live file is untouched.
    """
    import duckdb

    live, path = staging.live, staging.path
    if not path.exists():
        raise SemanticPublishError(
            f"the build wrote no database at {path}; check that the profile's path is "
            "\"{{ env_var('SEMANTIC_DB', ...) }}\" (semantic build points SEMANTIC_DB there)"
        )
    try:
        with duckdb.connect(str(path)) as con:  # fold the WAL into the file: the swap moves one file
            con.execute("checkpoint")
    except duckdb.Error as e:
        raise SemanticPublishError(f"could not checkpoint the new build {path}: {e}; it is kept there") from e
    if _wal(path).exists():
        raise SemanticPublishError(f"the new build {path} still has a WAL after a checkpoint; it is kept there")
    holder = _write_lock_holder(live)
    if holder:
        raise SemanticPublishError(
            f"{live} is open read-write in another process ({holder}); the new build is kept at {path}. "
            "Close that process and run the build again"
        )
    if _stamp(live) != staging.live_stamp:
        raise SemanticPublishError(
            f"{live} was written by another process during the build (e.g. a plain `dbt build`); swapping "
            f"would discard that. The new build is kept at {path}; run `semantic build` again"
        )
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    faults.point("publish_swap")
    _wal(live).unlink(missing_ok=True)  # already replayed into the build; never next to the new file
    os.replace(path, live)
    _fsync_dir(live.parent)
    return live


def compact(path: Path) -> Path:
    """Rewrite a DuckDB file into a fresh one holding only its live data, and put it in its place.

    DuckDB reuses the blocks a deleted row or a dropped table leaves but does not clear them, and the
    copy-and-swap build copies them forward: a text deleted from every table can stay in the file's
    bytes for many builds. ``COPY FROM DATABASE`` writes the schemas, tables, views, macros and
    sequences into an empty file under the same catalog name (views keep their fully-qualified
    references), so the new file holds no free block at all.

    Args:
        path: A DuckDB file no process holds open (the staging copy of a build).

    Returns:
        ``path``, now the compacted file.

    Raises:
        SemanticPublishError: The copy failed; ``path`` is left as it was.
    """
    import duckdb

    path = Path(path).absolute()
    fresh_dir = path.parent / ".compacting"
    shutil.rmtree(fresh_dir, ignore_errors=True)
    fresh_dir.mkdir()
    fresh = fresh_dir / path.name
    try:
        with duckdb.connect() as con:
            con.execute(f"attach '{_quote(path)}' as \"{path.stem}\" (read_only)")
            con.execute(f"attach '{_quote(fresh)}' as semantic_compacted")
            con.execute(f"copy from database \"{path.stem}\" to semantic_compacted")
            con.execute("detach semantic_compacted")
        with duckdb.connect(str(fresh)) as con:
            con.execute("checkpoint")
        with open(fresh, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(fresh, path)
    except duckdb.Error as e:
        raise SemanticPublishError(f"could not compact {path}: {e}; the build is kept there uncompacted") from e
    finally:
        shutil.rmtree(fresh_dir, ignore_errors=True)
    _wal(path).unlink(missing_ok=True)
    return path


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def build(
    live: Path,
    dbt_args: Sequence[str] = (),
    staging_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    before: Callable[[Path], None] | None = None,
    compact_after: bool = False,
    after: Callable[[Path], None] | None = None,
    output: str = "verbose",
) -> int:
    """Run ``dbt build`` into a staging copy of ``live`` and swap it in when dbt succeeds.

    dbt runs in a child process with ``SEMANTIC_DB`` pointing at the copy (the profile reads the
    DuckDB path from it), so its connections are closed and checkpointed when it exits. When dbt
    fails the live file is untouched and the failed build is kept in staging for inspection (open
    it read-only: it has the live file's name, so its catalog name matches); the next build
    removes it.

    Args:
        live: The DuckDB file readers open.
        dbt_args: Arguments passed on to ``dbt build`` (``--select``, ``--vars``, ``--project-dir``…).
        staging_dir: Where to build (default ``<live folder>/.building``).
        env: The environment for dbt (default: this process's).
        pass_fds: File descriptors dbt inherits (the build lock, see :mod:`semantic.warehouse.locking`).
        before: Called with the staging copy's path before dbt runs (``semantic forget`` records the
            ids it erases there), so what it writes is published with the build or not at all.
        compact_after: Rewrite the finished build into a fresh file before the swap (:func:`compact`),
            so no free block carries deleted text into the published file.
        after: Called with the staging copy's path when dbt succeeded, before the compaction and the
            swap (``semantic forget`` purges LanceDB and pins its new versions there).
        output: ``verbose`` (dbt's lines as they come), ``progress`` (one line per stage,
            :mod:`semantic.warehouse.progress`) or ``quiet`` (warnings, errors and the last line).

    Returns:
        dbt's exit status (0 when the new build was published).

    Raises:
        SemanticPublishError: See :func:`prepare` and :func:`publish`.
    """
    staging = prepare(live, staging_dir)
    if before is not None:
        before(staging.path)
    logger.info("semantic build: building into %s (a copy of %s; readers keep the live file)",
                staging.path, staging.live)
    child_env = {**(os.environ if env is None else env), "SEMANTIC_DB": str(staging.path)}
    command = [sys.executable, "-m", "dbt.cli.main", "build", *dbt_args]
    if output == "verbose":
        code = subprocess.run(command, env=child_env, pass_fds=tuple(pass_fds)).returncode
    else:
        from semantic.warehouse.progress import BuildProgress

        display = BuildProgress(mode=output)
        with subprocess.Popen(command, env=child_env, pass_fds=tuple(pass_fds), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                display.feed(line)
            code = proc.wait()
        display.finish(code, log_hint=str(project_dir_of(dbt_args).resolve() / "logs" / "dbt.log"))
    if code != 0:
        logger.warning(
            "semantic build: dbt build failed (exit %d); %s is unchanged. The failed build is kept at %s "
            "for inspection (open it read-only); the next build removes it", code, staging.live, staging.path,
        )
        return code
    if after is not None:
        after(staging.path)
    if compact_after:
        compact(staging.path)
    publish(staging)
    logger.info("semantic build: published %s", staging.live)
    return 0


def project_dir_of(dbt_args: Sequence[str]) -> Path:
    """The dbt project a ``semantic build`` argument list names (``--project-dir``), else the project root."""
    from semantic.config import project_root

    project_dir = project_root()
    for i, arg in enumerate(dbt_args):
        if arg == "--project-dir" and i + 1 < len(dbt_args):
            project_dir = Path(dbt_args[i + 1])
        elif arg.startswith("--project-dir="):
            project_dir = Path(arg.split("=", 1)[1])
    return project_dir


def build_project(
    dbt_args: Sequence[str] = (),
    db_path: Path | None = None,
    staging_dir: Path | None = None,
    before: Callable[[Path], None] | None = None,
    compact_after: bool = False,
    after: Callable[[Path], None] | None = None,
    output: str = "progress",
) -> int:
    """What ``semantic build`` does: check the seeds, install packages, take the lock, build and swap.

    Args:
        dbt_args: Arguments for ``dbt build`` (``--project-dir`` defaults to the project root).
        db_path: The live DuckDB file (default: the active config's).
        staging_dir: Where to build (see :func:`build`).
        before: See :func:`build`.
        compact_after: See :func:`build`.
        after: See :func:`build`.
        output: See :func:`build` (default ``progress``: one line per stage).

    Returns:
        dbt's exit status (0 when the new build was published).
    """
    from semantic.config import active
    from semantic.vectors.pins import read_pins_file, tag_published
    from semantic.warehouse.locking import ENV_HELD, acquire, held_fd
    from semantic.warehouse.scaffold import install_packages, project_seed_files
    from semantic.warehouse.validation import check_seed_encoding

    dbt_args = list(dbt_args)
    project_dir = project_dir_of(dbt_args)
    if not any(a == "--project-dir" or a.startswith("--project-dir=") for a in dbt_args):
        dbt_args = ["--project-dir", str(project_dir), *dbt_args]
    if "SEMANTIC_HOME" not in os.environ:  # data/ of the project built, wherever this runs from
        os.environ["SEMANTIC_HOME"] = str(project_dir.resolve())
    env = dict(os.environ)
    profiles_given = any(a == "--profiles-dir" or a.startswith("--profiles-dir=") for a in dbt_args)
    if not profiles_given and "DBT_PROFILES_DIR" not in env and (project_dir / "profiles.yml").is_file():
        env["DBT_PROFILES_DIR"] = str(project_dir)
    # before dbt: a seed that is not UTF-8 stops dbt with a bare UnicodeDecodeError naming no file
    check_seed_encoding(project_seed_files(project_dir))
    install_packages(project_dir, env)
    config = active().with_overrides(db_path=db_path)
    # one build at a time per data folder; dbt, our child, inherits the lock and builds under it
    env[ENV_HELD] = str(acquire(config.lance_dir.parent))
    fd = held_fd(config.lance_dir.parent)
    # the published LanceDB versions are tagged so that no clean-up removes them while the live file
    # points at them: first as the live file says (a build killed after its swap left the tags behind)
    tag_published(config.lance_dir, read_pins_file(config.db_path))

    def finish(staged: Path) -> None:
        # what changed against the published build (labels arrived, thresholds, items moved), in the new file
        from semantic.warehouse.reporting import record_changes

        try:
            record_changes(staged, config.db_path)
        except Exception as e:  # noqa: BLE001 - a report: never the reason a finished build is not published
            logger.warning("semantic build: could not compare with the published build (%s); publishing anyway", e)
        if after is not None:
            after(staged)

    code = build(config.db_path, dbt_args, staging_dir=staging_dir, env=env,
                 pass_fds=(fd,) if fd is not None else (), before=before, compact_after=compact_after, after=finish,
                 output=output)
    if code == 0:
        tag_published(config.lance_dir, read_pins_file(config.db_path))
    return code
