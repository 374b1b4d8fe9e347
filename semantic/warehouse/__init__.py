"""The warehouse face: how dbt and SQL reach everything below.

Modules:
    dbt_plugin: the dbt-duckdb plugin (``module: semantic.warehouse.dbt_plugin`` in profiles.yml).
    functions: the SQL functions and table macros registered on a DuckDB connection.
    connection: ``semantic.connect()``, a DuckDB connection with the functions registered.
    contract (+ contract.yml): the source contract every input is checked against.
    validation: checks of files before dbt reads them (seeds' UTF-8).
    publishing: the atomic build-and-swap of the DuckDB file (``semantic build``).
    locking: one build at a time per data folder.
    erasure: ``semantic forget``, erasing assets from every file under the data folder and proving it.
    doctor: ``semantic doctor``, checking the data folder and repairing what is safe.
    scaffold: ``semantic init`` and the example project.
    reporting: ``semantic summary``.

May import: :mod:`semantic.decisions` and everything below it. Independent of
:mod:`semantic.scaleout` (neither imports the other).
"""
