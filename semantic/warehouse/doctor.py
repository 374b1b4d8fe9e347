"""``semantic doctor``: check the data folder after a crash, a kill or a manual edit, and repair what is safe.

Checks, each answered ``ok``, ``fixed``, ``warn`` or ``fail`` with the fix:

* **lock**: no build is running (a running one is named and the other checks still run read-only).
* **staging**: no build copy or compaction left in ``.building/`` by a killed build (removed).
* **duckdb**: the published file opens read-only and every table and view answers; no WAL of a crashed
  writer beside it (the next build folds it in).
* **registry**: ``ACTIVE`` names a version that exists and passes its checks (safetensors weights,
  files unchanged since saved); ``activations.jsonl`` is readable.
* **lance:<table>**: each LanceDB table opens at its latest version and its rows can be read; files no
  version refers to (a write killed before its commit) are removed.
* **sync state**: the per-table sync caches parse (an unreadable one is removed: the next sync
  compares every row instead of trusting it).
* **pins**: every LanceDB version the published file reads (``dim_lance_versions``) exists and carries
  the published tag that keeps it from clean-up (a tag left behind by a killed build is moved back).
* **match:<entity>**: each vector table, at the version the published file reads, holds exactly the
  ids of its staging table with text, and every vector was made by the active encoder (otherwise:
  run ``semantic build``); a later version a killed build committed is named, not a failure.

Repairs only remove what no reader can need (leftovers of a dead build, unreferenced files, caches),
and only while holding the build lock.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from semantic.config import SemanticConfig
from semantic.errors import SemanticError, SemanticLockError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One check's answer."""

    check: str
    status: str  # ok | fixed | warn | fail
    detail: str

    def line(self) -> str:
        """The finding as one line: status, check, detail."""
        return f"{self.status.upper():5}  {self.check}: {self.detail}"


def diagnose(config: SemanticConfig, repair: bool = True) -> list[Finding]:
    """Run every check on the data folder of ``config`` (repairing what is safe when ``repair``).

    Returns:
        One finding per check; none is ``fail`` when the folder is sound.
    """
    from semantic.warehouse.locking import acquire, read_holder, release

    data_dir = config.lance_dir.parent
    findings: list[Finding] = []
    held = False
    try:
        acquire(data_dir, timeout=0)
        held = True
        findings.append(Finding("lock", "ok", "no build is running"))
    except SemanticLockError:
        from semantic.warehouse.locking import lock_path

        holder = read_holder(lock_path(data_dir.resolve()))
        findings.append(Finding("lock", "warn", f"a build is running ({holder.describe()}); checked without "
                                "repairing anything"))
    try:
        fix = repair and held
        findings += _staging(config, fix)
        findings += _duckdb(config)
        findings += _registry(config)
        findings += _lance(config, fix)
        findings += _pins(config, fix)
        findings += _match(config)
    finally:
        if held:
            release(data_dir)
    return findings


def _staging(config: SemanticConfig, fix: bool) -> list[Finding]:
    from semantic.warehouse.publishing import STAGING_DIR_NAME

    folder = config.db_path.parent / STAGING_DIR_NAME
    leftovers = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if not leftovers:
        return [Finding("staging", "ok", "no leftover build")]
    names = ", ".join(str(p.relative_to(folder)) for p in leftovers[:5])
    if fix:
        shutil.rmtree(folder)
        return [Finding("staging", "fixed", f"removed what a failed or killed build left in {folder} ({names})")]
    return [Finding("staging", "warn", f"{folder} holds a failed or killed build ({names}); the next build removes "
                    "it (open it read-only to inspect)")]


def _duckdb(config: SemanticConfig) -> list[Finding]:
    import duckdb

    path = config.db_path
    if not path.exists():
        return [Finding("duckdb", "warn", f"{path} does not exist yet: run `semantic build`")]
    found = []
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        found.append(Finding("duckdb wal", "warn", f"{wal} is the log of a writer that did not close the file; the "
                             "next `semantic build` folds it into the build"))
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            relations = con.execute("select table_name, 'table' from duckdb_tables() union all "
                                    "select view_name, 'view' from duckdb_views() where not internal").fetchall()
            broken = []
            for name, _kind in relations:
                try:
                    con.execute(f'select count(*) from "{name}"').fetchone()
                except duckdb.Error as e:
                    broken.append(f"{name} ({str(e).splitlines()[0][:120]})")
    except duckdb.Error as e:
        message = str(e).splitlines()[0]
        if "lock" in message.lower():
            return [*found, Finding("duckdb", "warn", f"{path} is open read-write in another process: {message}")]
        return [*found, Finding("duckdb", "fail", f"{path} does not open: {message}; rebuild it with `semantic "
                                "build --full-refresh` (LanceDB keeps the vectors: nothing is embedded again)")]
    if broken:
        return [*found, Finding("duckdb", "fail", f"{len(broken)} relation(s) do not answer: {'; '.join(broken[:5])}; "
                                "run `semantic build`")]
    return [*found, Finding("duckdb", "ok", f"{path.name} opens; {len(relations)} tables and views answer")]


def _registry(config: SemanticConfig) -> list[Finding]:
    from semantic.encoding.registry import BASE, Registry

    found = []
    for label, root in (("registry", config.models_dir), ("rerankers", config.rerankers_dir),
                        ("brief rerankers", config.brief_rerankers_dir),
                        ("lookalike rerankers", config.lookalike_rerankers_dir)):
        registry = Registry(root)
        try:
            registry.history()
            name = registry.active_name()
            if name != BASE:
                registry.verify(name)
        except (SemanticError, OSError, ValueError) as e:
            found.append(Finding(label, "fail", f"{e}"))
            continue
        found.append(Finding(label, "ok", f"active: {name}" if name != BASE else "active: base (none tuned)"))
    return found


def _lance(config: SemanticConfig, fix: bool) -> list[Finding]:
    import lance

    from semantic.vectors.retention import lance_tables
    from semantic.vectors.store import SYNC_STATE_DIR

    found = []
    for path in lance_tables(config.lance_dir):
        name = path.name.removesuffix(".lance")
        try:
            ds = lance.dataset(str(path))
            rows = ds.count_rows()
            ds.head(1)
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            found.append(Finding(f"lance:{name}", "fail", f"{path} does not read ({str(e).splitlines()[0][:200]}); "
                                 "remove the folder and run `semantic build` to embed it again"))
            continue
        detail = f"{rows} rows at version {ds.version}"
        if fix:
            stats = ds.cleanup_old_versions(older_than=timedelta(days=365000), delete_unverified=True,
                                            error_if_tagged_old_versions=False)
            if stats.bytes_removed:
                found.append(Finding(f"lance:{name}", "fixed", f"{detail}; removed {stats.bytes_removed} bytes of "
                                     "files no version refers to (a write killed before its commit)"))
                continue
        found.append(Finding(f"lance:{name}", "ok", detail))
    state_dir = config.lance_dir / SYNC_STATE_DIR
    bad = []
    for state in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
        try:
            json.loads(state.read_text())
        except (OSError, ValueError):
            bad.append(state)
    if bad and fix:
        for state in bad:
            state.unlink(missing_ok=True)
        found.append(Finding("sync state", "fixed", f"removed {len(bad)} unreadable cache file(s) "
                             f"({', '.join(p.name for p in bad)}); the next sync compares every row"))
    elif bad:
        found.append(Finding("sync state", "warn", f"unreadable: {', '.join(p.name for p in bad)}"))
    else:
        found.append(Finding("sync state", "ok", "readable"))
    return found


def _pins(config: SemanticConfig, fix: bool) -> list[Finding]:
    import lance

    from semantic.vectors.pins import PUBLISHED_TAG, read_pins_file, tag_published

    pins = read_pins_file(config.db_path)
    if not pins:
        return [Finding("pins", "ok", "the published file pins no LanceDB version (readers read the latest)")]
    missing, untagged = [], []
    for table, version in sorted(pins.items()):
        path = config.lance_dir / f"{table}.lance"
        try:
            ds = lance.dataset(str(path), version=version)
        except Exception:  # noqa: BLE001 - gone, whatever lance calls it
            missing.append(f"{table} v{version}")
            continue
        tags: dict[str, Any] = dict(ds.tags.list())
        if (tags.get(PUBLISHED_TAG) or {}).get("version") != version:
            untagged.append(table)
    if missing:
        return [Finding("pins", "fail", f"the published file reads LanceDB version(s) that are gone: "
                        f"{', '.join(missing)}; run `semantic build` to publish a build of the current versions")]
    if untagged and fix:
        tag_published(config.lance_dir, pins)
        return [Finding("pins", "fixed", f"tagged the published version of {', '.join(untagged)} again (a build "
                        "was killed between its swap and its tags)")]
    if untagged:
        return [Finding("pins", "warn", f"the published version of {', '.join(untagged)} is not tagged, so a "
                        "clean-up could remove it")]
    return [Finding("pins", "ok", f"{len(pins)} table(s) read at their published version")]


def _match(config: SemanticConfig) -> list[Finding]:
    import duckdb
    import lance

    from semantic.encoding.encoder import model_version
    from semantic.encoding.registry import encoder_dir
    from semantic.vectors.pins import read_pins_file
    from semantic.vectors.sync import ENTITIES

    if not config.db_path.exists():
        return []
    try:
        active = model_version(encoder_dir(config))
    except SemanticError as e:
        return [Finding("match", "fail", f"the active encoder does not load: {e}")]
    found = []
    pins = read_pins_file(config.db_path)
    try:
        con = duckdb.connect(str(config.db_path), read_only=True)
    except duckdb.Error:
        return []  # reported by the duckdb check
    with con:
        for name, entity in ENTITIES.items():
            path = config.lance_dir / f"{name}.lance"
            try:
                staged = {r[0] for r in con.execute(
                    f"select {entity.id_column} from stg_semantic__{name} "
                    "where text is not null and trim(text) <> ''").fetchall()}
            except duckdb.Error:
                continue  # an input that is off or not built
            if not path.is_dir():
                if staged:
                    found.append(Finding(f"match:{name}", "fail", f"{len(staged)} rows to embed but no LanceDB table; "
                                         "run `semantic build`"))
                continue
            try:
                ds = lance.dataset(str(path), version=pins.get(name))
            except Exception:  # noqa: BLE001 - reported by the pins check
                continue
            table = ds.to_table(columns=[entity.id_column, "model_version"])
            stored = set(table.column(entity.id_column).to_pylist())
            versions = set(table.column("model_version").to_pylist())
            missing, extra = staged - stored, stored - staged
            problems = []
            if missing:
                problems.append(f"{len(missing)} id(s) of the build not in LanceDB (e.g. {sorted(missing)[0]})")
            if extra:
                problems.append(f"{len(extra)} id(s) in LanceDB no longer in the build (e.g. {sorted(extra)[0]})")
            if versions - {active}:
                problems.append(f"vectors of model version(s) {', '.join(sorted(map(str, versions - {active})))}, "
                                f"not the active {active}")
            at = f" at published version {pins[name]}" if name in pins else ""
            if problems:
                found.append(Finding(f"match:{name}", "fail", "; ".join(problems) + f"{at}; run `semantic build`"))
                continue
            latest = lance.dataset(str(path)).version
            if name in pins and latest != pins[name]:
                found.append(Finding(f"match:{name}", "ok", f"{len(stored)} ids, model {active}{at} (version {latest}, "
                                     "written by a build that did not publish, is completed by the next build)"))
            else:
                found.append(Finding(f"match:{name}", "ok", f"{len(stored)} ids, model {active}{at}"))
    return found
