"""Vectors: the LanceDB store, its ANN indexes, and keeping it in step with the warehouse.

Modules:
    store: :class:`~semantic.vectors.store.VectorStore`, one LanceDB table per embedded entity
        (sync by content hash and model version, search, scans, the sync log).
    sync: what the embedding dbt models call (``embed_entity``) and the index report.
    embedding: the one embedding stage (a batch of Arrow rows in, the same rows with vectors out)
        and the vector columns' names.
    sync_plan: which rows to embed, keep or delete (shared with the distributed engines).
    index: the ANN index: when to build, extend or rebuild it, and its recall against exact search.
    fingerprints: input fingerprints that let an unchanged dbt Python model keep its rows.
    duckdb_lance: DuckDB's lance extension, loaded from the packaged file.
    memory: giving freed memory back to the system between large steps.
    retention: how many LanceDB versions a build keeps, erasing deleted rows from every file, and
        searching decoded Lance files for a text.
    pins: the LanceDB versions a published DuckDB file reads, and their tag.

May import: :mod:`semantic.encoding` (to embed), :mod:`semantic.demo`, :mod:`semantic.config`,
:mod:`semantic.errors`.
"""
