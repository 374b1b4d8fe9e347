"""Erasure: ``semantic forget`` removes an asset's text and vectors from the data folder, and proves it.

A normal build drops a deleted asset from every live table and from search, but its bytes stay:
DuckDB reuses freed blocks without clearing them (and the copy-and-swap build copies them
forward), and Lance keeps every earlier version of a table readable until it is cleaned up.
:func:`forget` goes further, under the build lock:

1. It finds the asset's text (the build's staging table, the source relation, and every stored
   version of the LanceDB ``assets`` and ``asset_sentences`` tables) and the encoder versions
   trained on it (``trained_on_ids`` in their ``semantic_training.json``).
2. It records the ids in ``main.semantic_forgotten`` inside a new build (the staging models leave
   them out, macro ``semantic_not_forgotten``) and runs that build.
3. Before the swap it purges every LanceDB table (:func:`semantic.vectors.retention.purge`):
   fragments rewritten without the deleted rows, indexes rebuilt, every other version (tagged ones
   too) and unreferenced file removed; the build then pins the purged versions
   (:mod:`semantic.vectors.pins`). It rewrites the DuckDB build from its live data
   (:func:`semantic.warehouse.publishing.compact`), so no free block keeps the text, and swaps it in.
4. With ``retrain``, the build trains an encoder (and a pair reranker) without the asset, and the
   versions trained on it are deleted from their registries, an encoder's with its calibrations
   and caches. Without it, the build trains neither, and those versions are named as kept.
5. It removes the reviewers' decisions naming the asset from the decision log (before the build reads it)
   and the lines of dbt's logs that name the asset, then searches every file under the data
   folder (bytes, and Lance files decoded: Lance compresses strings) and every DuckDB table for
   the text. Anything left is reported with the file or relation, e.g. a source relation that
   still holds the asset: that is the owner's copy, removed at the source.

The ids themselves stay in ``semantic_forgotten``, so a restored source cannot bring the asset back.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from semantic.config import SemanticConfig
from semantic.errors import SemanticDataError
from semantic.vectors.pins import PINS_TABLE, current_versions
from semantic.vectors.retention import PurgeResult, find_in_files, lance_tables, purge

logger = logging.getLogger(__name__)

FORGOTTEN_TABLE = "semantic_forgotten"
ASSETS_TABLE = "assets"
SENTENCES_TABLE = "asset_sentences"
#: Relations of the build that hold the ids themselves, not the text (kept on purpose).
ID_ONLY = frozenset({FORGOTTEN_TABLE})


@dataclass
class ForgetReport:
    """What :func:`forget` found, erased and could not erase.

    Attributes:
        ids: The ids forgotten.
        texts: Each id's texts found before erasure (the asset's text, its sentences' where unique).
        trained: Each id's encoder versions and pair rerankers (``reranker:<name>``) trained on it
            (``semantic_training.json`` names them).
        removed_versions: Versions deleted (``retrain``); an encoder's with its calibrations and caches.
        kept_versions: Versions trained on an asset that are still in the registry, and why.
        purged: What each LanceDB table's purge did.
        cached_vectors_removed: Vectors of the erased texts (and their sentences) removed from the text cache
            (:mod:`semantic.vectors.text_cache`).
        scrubbed: Log files from which lines naming an asset were removed, with the count (the reviewers'
            decision log among them).
        in_source: Ids still in the assets input relation, with it: the owner's copy, left out of every
            model, search and LanceDB table (``semantic_forgotten``) until it is deleted there.
        leftovers: Where a forgotten text is still found: a file path or ``duckdb:<relation>.<column>``.
        build_code: The build's exit status (0: published).
        seconds: Wall time.
    """

    ids: list[str]
    texts: dict[str, list[str]] = field(default_factory=dict)
    trained: dict[str, list[str]] = field(default_factory=dict)
    removed_versions: list[str] = field(default_factory=list)
    kept_versions: dict[str, str] = field(default_factory=dict)
    purged: list[PurgeResult] = field(default_factory=list)
    scrubbed: dict[str, int] = field(default_factory=dict)
    cached_vectors_removed: int = 0
    in_source: dict[str, str] = field(default_factory=dict)
    leftovers: dict[str, list[str]] = field(default_factory=dict)
    build_code: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """True when the build published and no forgotten text is left anywhere searched."""
        return self.build_code == 0 and not self.leftovers

    def lines(self) -> list[str]:
        """The report for a person: what was erased, from where, and what is left."""
        out = []
        for asset_id in self.ids:
            texts = self.texts.get(asset_id) or []
            preview = (texts[0][:60] + ("…" if len(texts[0]) > 60 else "")) if texts else "(no stored text)"
            out.append(f"forgot {asset_id}: \"{preview}\"")
            if self.trained.get(asset_id):
                out.append(f"  it trained encoder version(s) {', '.join(self.trained[asset_id])}")
        if self.build_code:
            out.append(f"the build failed (exit {self.build_code}): nothing was published or purged; fix it and run "
                       "`semantic forget` again")
            return out
        for result in self.purged:
            if result.fragments_rewritten or result.versions_removed:
                rebuilt = f"; rebuilt {', '.join(result.indexes_rebuilt)}" if result.indexes_rebuilt else ""
                out.append(f"LanceDB {result.table}: {result.fragments_rewritten} fragment(s) rewritten, "
                           f"{result.versions_removed} old version(s) removed{rebuilt}")
        for name in self.removed_versions:
            out.append(f"deleted encoder version {name} (trained on a forgotten asset), its calibration and caches")
        for name, why in self.kept_versions.items():
            out.append(f"kept encoder version {name}, trained on a forgotten asset: {why}")
        for path, n in self.scrubbed.items():
            out.append(f"removed {n} line(s) naming a forgotten asset from {path}")
        if self.cached_vectors_removed:
            out.append(f"removed {self.cached_vectors_removed} vector(s) of the forgotten texts from the text cache "
                       "(every stored version of it)")
        for asset_id, relation in self.in_source.items():
            out.append(f"{asset_id} is still in the source relation {relation}: delete its row there (until then "
                       "the build leaves it out of every model, search and LanceDB table)")
        if self.leftovers:
            for where, what in sorted(self.leftovers.items()):
                out.append(f"STILL FOUND in {where}: {', '.join(sorted(set(what)))}")
            out.append("erasure is incomplete: remove the asset's row from the source relation named above (the build "
                       "keeps it out of every model, search and LanceDB table meanwhile) and run `semantic forget "
                       f"{' '.join(self.ids)}` again")
        else:
            out.append(f"verified: no file under the data folder and no DuckDB table holds the text of "
                       f"{len(self.ids)} forgotten asset(s) ({self.seconds:.1f} s)")
        return out


def _duckdb_texts(db_path: Path, ids: Sequence[str]) -> dict[str, list[str]]:
    import duckdb

    if not db_path.exists():
        return {}
    found: dict[str, list[str]] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        names = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        if "stg_semantic__assets" in names:
            for asset_id, text in con.execute(
                "select asset_id, text from stg_semantic__assets where asset_id in (select unnest($ids))",
                {"ids": list(ids)},
            ).fetchall():
                if text:
                    found.setdefault(asset_id, []).append(text)
        source = _source(con)
        if source is not None:  # a forgotten asset still in the source is left out of the staging table
            relation, id_column, text_column = source
            try:
                rows = con.execute(
                    f"select trim(cast({id_column} as varchar)), cast({text_column} as varchar) from {relation} "
                    f"where trim(cast({id_column} as varchar)) in (select unnest($ids))", {"ids": list(ids)},
                ).fetchall()
            except duckdb.Error:  # a source outside this file that is gone: nothing to read
                rows = []
            for asset_id, text in rows:
                if text and text not in found.setdefault(asset_id, []):
                    found[asset_id].append(text)
    return found


def _source(con: Any) -> tuple[str, str, str] | None:
    """The assets input relation of the last build and its quoted id and text columns."""
    import duckdb

    try:
        row = con.execute("select relation, columns_json from stg_semantic__inputs where input_name = 'assets'"
                          ).fetchone()
    except duckdb.Error:
        return None
    if not row or not row[0]:
        return None
    columns = json.loads(row[1] or "{}")

    def quoted(name: str) -> str:
        return '"' + str(columns.get(name, name)).replace('"', '""') + '"'

    return str(row[0]), quoted("asset_id"), quoted("text")


def _lance_texts(lance_dir: Path, ids: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Texts and sentence texts of ``ids`` in every stored version of the assets and sentences tables."""
    import lance

    from semantic.vectors.store import sql_literal

    texts: dict[str, list[str]] = {}
    sentences: dict[str, list[str]] = {}
    where = f"asset_id IN ({', '.join(sql_literal(i) for i in ids)})"
    for table, into in ((ASSETS_TABLE, texts), (SENTENCES_TABLE, sentences)):
        path = lance_dir / f"{table}.lance"
        if not path.is_dir():
            continue
        latest = lance.dataset(str(path))
        for version in latest.versions():
            try:
                rows = lance.dataset(str(path), version=version["version"]).to_table(
                    columns=["asset_id", "text"], filter=where)
            except Exception as e:  # noqa: BLE001 - a version whose files a cleanup removed cannot be read
                logger.debug("%s version %s not readable: %s", table, version["version"], e)
                continue
            for asset_id, text in zip(rows.column("asset_id").to_pylist(), rows.column("text").to_pylist()):
                if text and text not in into.setdefault(asset_id, []):
                    into[asset_id].append(text)
    return texts, sentences


def gone_ids(lance_dir: Path) -> list[str]:
    """Assets that left the source but are still in an older version of the LanceDB ``assets`` table."""
    import lance

    path = lance_dir / f"{ASSETS_TABLE}.lance"
    if not path.is_dir():
        return []
    latest = lance.dataset(str(path))
    live = set(latest.to_table(columns=["asset_id"]).column("asset_id").to_pylist())
    gone: set[str] = set()
    for version in latest.versions()[:-1]:
        try:
            ids = lance.dataset(str(path), version=version["version"]).to_table(columns=["asset_id"])
        except Exception as e:  # noqa: BLE001 - a version whose files a cleanup removed cannot be read
            logger.debug("assets version %s not readable: %s", version["version"], e)
            continue
        gone |= set(ids.column("asset_id").to_pylist()) - live
    return sorted(gone)


#: How a pair reranker is named among the versions trained on an asset (the encoders' names have no prefix).
RERANKER_PREFIX = "reranker:"
#: How a brief reranker is named among the versions an erased asset trained.
BRIEF_RERANKER_PREFIX = "brief reranker:"
#: How a lookalike reranker is named among the versions an erased asset trained.
LOOKALIKE_RERANKER_PREFIX = "lookalike reranker:"
#: The dbt vars that keep a build from training (an encoder or a pair, brief or lookalike reranker).
TRAINING_OFF = {"semantic_train": False, "semantic_train_reranker": False, "semantic_train_brief_reranker": False,
                "semantic_train_lookalike_reranker": False}
#: Each reranker registry's flag on `semantic activate` and its name, by its prefix.
_RERANKER_FLAGS = {RERANKER_PREFIX: ("--reranker", "pair reranker"),
                   BRIEF_RERANKER_PREFIX: ("--brief-reranker", "brief reranker"),
                   LOOKALIKE_RERANKER_PREFIX: ("--lookalike-reranker", "lookalike reranker")}


def _reranker_registries(config: SemanticConfig) -> dict[str, Path]:
    """Each reranker registry by the prefix its versions are named with in a :class:`ForgetReport`."""
    return {RERANKER_PREFIX: config.rerankers_dir, BRIEF_RERANKER_PREFIX: config.brief_rerankers_dir,
            LOOKALIKE_RERANKER_PREFIX: config.lookalike_rerankers_dir}


def trained_versions(models_dir: Path, ids: Sequence[str]) -> dict[str, list[str]]:
    """For each id, the versions in a registry (encoders', or pair rerankers') whose training pairs named it
    (``trained_on_ids`` of their record)."""
    out: dict[str, list[str]] = {}
    wanted = set(ids)
    if not models_dir.is_dir():
        return out
    for record in sorted(models_dir.glob("*/semantic_training.json")):
        try:
            named = set(json.loads(record.read_text(encoding="utf-8")).get("trained_on_ids") or [])
        except (OSError, ValueError):
            continue
        for asset_id in sorted(wanted & named):
            out.setdefault(asset_id, []).append(record.parent.name)
    return out


def _record_forgotten(ids: Sequence[str]) -> Any:
    def before(staging_db: Path) -> None:
        import duckdb

        with duckdb.connect(str(staging_db)) as con:
            con.execute(f"create table if not exists main.{FORGOTTEN_TABLE} "
                        "(asset_id varchar primary key, forgotten_at timestamp)")
            now = datetime.now(UTC).replace(tzinfo=None)
            for asset_id in ids:
                con.execute(f"insert or ignore into main.{FORGOTTEN_TABLE} values (?, ?)", [asset_id, now])
            con.execute("checkpoint")

    return before


def _with_training_off(dbt_args: Sequence[str]) -> list[str]:
    """``dbt_args`` with :data:`TRAINING_OFF` merged into its ``--vars`` (or added)."""
    import yaml  # type: ignore[import-untyped]

    args = list(dbt_args)
    for i, arg in enumerate(args):
        if arg == "--vars" and i + 1 < len(args) or arg.startswith("--vars="):
            text = args[i + 1] if arg == "--vars" else arg.split("=", 1)[1]
            merged = {**(yaml.safe_load(text) or {}), **TRAINING_OFF}
            if arg == "--vars":
                args[i + 1] = json.dumps(merged)
            else:
                args[i] = "--vars=" + json.dumps(merged)
            return args
    return [*args, "--vars", json.dumps(TRAINING_OFF)]


def _scrub_logs(folders: Sequence[Path], needles: Sequence[str]) -> dict[str, int]:
    """Remove every line naming a needle from the ``*.log`` files under ``folders``."""
    scrubbed: dict[str, int] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.log")):
            lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True)
            kept = [line for line in lines if not any(n in line for n in needles)]
            if len(kept) != len(lines):
                tmp = path.with_name(path.name + ".scrub")
                tmp.write_text("".join(kept), encoding="utf-8", errors="surrogateescape")
                tmp.replace(path)
                scrubbed[str(path)] = len(lines) - len(kept)
    return scrubbed


def find_leftovers(config: SemanticConfig, texts: Sequence[str], ids: Sequence[str],
                   extra_folders: Sequence[Path] = ()) -> dict[str, list[str]]:
    """Where any of ``texts`` (or, in a LanceDB table, any of ``ids``) is still stored.

    Searched: the bytes of every file under the data folder and ``extra_folders`` (dbt's logs and
    target), every ``.lance`` file decoded (referenced by a version or not), and every text column
    of every DuckDB table and view except :data:`ID_ONLY`.

    Returns:
        ``{place: [what was found]}``: a file path, or ``duckdb:<relation>.<column>``.
    """
    import duckdb

    found: dict[str, list[str]] = {}
    needles = [t for t in dict.fromkeys(texts) if t]
    encoded = [(t, t.encode("utf-8")) for t in needles]
    data_dir = config.db_path.parent
    folders = [data_dir, config.lance_dir, *extra_folders]
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if not path.is_file() or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            data = path.read_bytes()
            for text, raw in encoded:
                if raw in data:
                    found.setdefault(str(path), []).append(_short(text))
    for text, files in find_in_files(config.lance_dir, needles).items():
        for file in files:
            found.setdefault(file, []).append(_short(text))
    # the ids, exactly, in the latest version of each Lance table with an asset_id column
    import lance

    for path in lance_tables(config.lance_dir):
        ds = lance.dataset(str(path))
        if "asset_id" in ds.schema.names and ids:
            from semantic.vectors.store import sql_literal

            n = ds.count_rows(filter=f"asset_id IN ({', '.join(sql_literal(i) for i in ids)})")
            if n:
                found.setdefault(str(path), []).append(f"{n} row(s) with a forgotten asset_id")
    if config.db_path.exists() and needles:
        with duckdb.connect(str(config.db_path), read_only=True) as con:
            columns = con.execute(
                "select table_name, column_name from duckdb_columns() "
                "where data_type = 'VARCHAR' and schema_name = 'main' and table_name not in (select unnest($skip))",
                {"skip": sorted(ID_ONLY)},
            ).fetchall()
            for table, column in columns:
                for text in needles:
                    hit = con.execute(f'select count(*) from main."{table}" where contains("{column}", $t)',
                                      {"t": text}).fetchone()
                    if hit and hit[0]:
                        found.setdefault(f"duckdb:{table}.{column}", []).append(_short(text))
    return found


def _short(text: str) -> str:
    return f"\"{text[:40]}{'…' if len(text) > 40 else ''}\""


def _remove_version(config: SemanticConfig, name: str) -> None:
    from semantic.vectors import text_cache

    shutil.rmtree(config.models_dir / name, ignore_errors=True)
    text_cache.drop_model(config.lance_dir, name)  # its vectors of every text
    for path in config.calibration_dir.glob(f"{name}*"):
        path.unlink(missing_ok=True)
    from semantic.encoding.encoder import encoder_cache_root

    cache = encoder_cache_root()  # exports and gate results of a version (the gate's sample is the demo's text)
    for path in cache.glob(f"{name}*") if cache.is_dir() else ():
        shutil.rmtree(path, ignore_errors=True)


def forget(
    ids: Sequence[str],
    config: SemanticConfig,
    dbt_args: Sequence[str] = (),
    retrain: bool = False,
    gone: bool = False,
    build: Any = None,
) -> ForgetReport:
    """Erase assets from the build, LanceDB (every version), the DuckDB file's bytes, the registry and logs.

    Args:
        ids: Asset ids to forget (at least one).
        config: Where the data lives.
        dbt_args: Arguments for the build (``--project-dir`` and so on, as for ``semantic build``).
        retrain: Train an encoder version without the assets (the build's normal training) and
            delete the versions trained on them. Without it training is switched off for this build
            (``semantic_train: false``): the active encoder stays, and is named when it saw an asset.
        build: The build function (default :func:`semantic.warehouse.publishing.build_project`).

    Returns:
        The report; ``complete`` is False when the build failed or a text is still found.

    Raises:
        SemanticDataError: No id given, or an id is nowhere: not in the build, the source or any
            stored LanceDB version (a typo must not pass as a completed erasure).
    """
    from semantic.encoding.registry import Registry
    from semantic.warehouse.locking import acquire
    from semantic.warehouse.publishing import STAGING_DIR_NAME, build_project, project_dir_of

    started = time.monotonic()
    ids = [i.strip() for i in dict.fromkeys(ids) if i and i.strip()]
    if not ids and not gone:
        raise SemanticDataError("semantic forget needs at least one asset id, e.g. semantic forget A000123 "
                                "(or --gone for every asset that has left the source)")
    # re-entrant: the build below runs under the same lock; the lock file names no erased id
    acquire(config.lance_dir.parent, command="semantic forget")
    recorded = list(ids)
    if gone:
        ids += [i for i in gone_ids(config.lance_dir) if i not in ids]
    texts = _duckdb_texts(config.db_path, ids)
    lance_texts, sentences = _lance_texts(config.lance_dir, ids)
    for asset_id, found in lance_texts.items():
        for text in found:
            if text not in texts.setdefault(asset_id, []):
                texts[asset_id].append(text)
    trained = trained_versions(config.models_dir, ids)
    for prefix, root in _reranker_registries(config).items():  # pair and brief rerankers learn from them too
        for asset_id, names in trained_versions(root, ids).items():
            trained.setdefault(asset_id, []).extend(prefix + n for n in names)
    report = ForgetReport(ids=ids, texts=texts, trained=trained)
    known = set(texts) | set(report.trained) | _forgotten_before(config.db_path)
    known |= set(_in_source(config, [i for i in recorded if i not in known]))
    unknown = [i for i in recorded if i not in known]
    if unknown:
        raise SemanticDataError(
            f"asset id(s) {', '.join(unknown)} are not in the build, its source or any stored LanceDB version; "
            "nothing was erased. Check the ids (semantic search prints them) and run again"
        )
    args = list(dbt_args) if retrain else _with_training_off(dbt_args)

    def purge_and_pin(staging_db: Path) -> None:
        """Before the swap: purge every LanceDB table and the text cache, and publish the purged versions' pins."""
        import duckdb
        import lance

        from semantic.vectors import graph, text_cache

        for path in lance_tables(config.lance_dir):
            table = path.name.removesuffix(".lance")
            had_graph = bool(graph.versions_with_graph(config.lance_dir, table))
            report.purged.append(purge(path))
            # every graph holds vectors of the erased texts: all go, and the purged version gets its own
            graph.remove_graphs(config.lance_dir, table)
            if had_graph:
                graph.ensure_graph(config.lance_dir, table, lance.dataset(str(path)), 1)
        # the text cache holds no text, but a vector of one is still the asset's: every sentence's goes too (a
        # sentence other assets share is only encoded again)
        erased_texts = [t for found in (*texts.values(), *sentences.values()) for t in found]
        removed = text_cache.erase(config.lance_dir, erased_texts)
        report.cached_vectors_removed = removed
        pins = current_versions(config.lance_dir)  # noqa: F841 - read by the SQL below
        with duckdb.connect(str(staging_db)) as con:
            con.execute(f"create or replace table main.{PINS_TABLE} as select * from pins")

    # the reviewers' decisions naming a forgotten asset go before the build reads the decision log
    from semantic.review.decisions import DecisionLog

    erased = DecisionLog(config.review_log).erase(ids)
    if erased:
        report.scrubbed[str(config.review_log)] = erased
    # the saved pair decision was learned on the labelled pairs with their texts (its TF-IDF holds their character
    # n-grams): it goes, and the build fits it again without them
    from semantic.decisions.pair_decision import STATE_DIR

    shutil.rmtree(config.calibration_dir / STATE_DIR, ignore_errors=True)
    run = build or build_project
    report.build_code = run(args, db_path=config.db_path, before=_record_forgotten(recorded) if recorded else None,
                            compact_after=True, after=purge_and_pin)
    if report.build_code:
        report.seconds = time.monotonic() - started
        return report
    encoders = Registry(config.models_dir)
    rerankers = _reranker_registries(config)
    trained_names = sorted({v for versions in report.trained.values() for v in versions})
    for name in trained_names:
        prefix = next((known for known in rerankers if name.startswith(known)), "")
        registry = Registry(rerankers[prefix]) if prefix else encoders
        bare = name.removeprefix(prefix) if prefix else name
        if not retrain:
            report.kept_versions[name] = ("no --retrain; `semantic forget --retrain` trains a version without it and "
                                          "deletes this one")
        elif bare == registry.active_name():
            flag, kind = _RERANKER_FLAGS.get(prefix, _RERANKER_FLAGS[RERANKER_PREFIX])
            report.kept_versions[name] = (
                f"still the active {kind} (too few labels left to train another, or its training var off?); "
                f"`semantic activate {flag} base` and run semantic forget --retrain again" if prefix else
                "still the active encoder (is semantic_train off in the project?); activate "
                "another version and run semantic forget --retrain again")
        else:
            if prefix:
                shutil.rmtree(rerankers[prefix] / bare, ignore_errors=True)
            else:
                _remove_version(config, name)
            report.removed_versions.append(name)
    needles = [t for found in texts.values() for t in found]
    # a sentence is the asset's own only when no remaining asset shares it ("Order today." is everyone's)
    remaining = _remaining_texts(config.db_path)
    needles += [s for found in sentences.values() for s in found if len(s) >= 20 and not any(s in r for r in remaining)]
    project_dir = project_dir_of(args)
    report.scrubbed.update(_scrub_logs([project_dir / "logs", config.db_path.parent], [*needles, *ids]))
    shutil.rmtree(config.db_path.parent / STAGING_DIR_NAME, ignore_errors=True)
    report.in_source = _in_source(config, recorded)
    report.leftovers = find_leftovers(config, needles, ids,
                                      extra_folders=[project_dir / "logs", project_dir / "target"])
    report.seconds = time.monotonic() - started
    return report


def _forgotten_before(db_path: Path) -> set[str]:
    import duckdb

    if not db_path.exists():
        return set()
    with duckdb.connect(str(db_path), read_only=True) as con:
        try:
            return {r[0] for r in con.execute(f"select asset_id from main.{FORGOTTEN_TABLE}").fetchall()}
        except duckdb.Error:
            return set()


def _remaining_texts(db_path: Path) -> list[str]:
    import duckdb

    if not db_path.exists():
        return []
    with duckdb.connect(str(db_path), read_only=True) as con:
        try:
            rows = con.execute("select text from stg_semantic__assets where text is not null").fetchall()
        except duckdb.Error:
            return []
    return [r[0] for r in rows]


def _in_source(config: SemanticConfig, ids: Sequence[str]) -> dict[str, str]:
    """The ids the assets input relation of the last build still has, with that relation (one query for all)."""
    import duckdb

    if not config.db_path.exists() or not ids:
        return {}
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        source = _source(con)
        if source is None:
            return {}
        relation, id_column, _ = source
        try:
            found = con.execute(f"select distinct trim(cast({id_column} as varchar)) from {relation} "
                                f"where trim(cast({id_column} as varchar)) in (select unnest($ids))",
                                {"ids": list(ids)}).fetchall()
        except duckdb.Error:
            return {}
    return {row[0]: relation for row in found}
