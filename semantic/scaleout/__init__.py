"""Scale-out: embedding and near-duplicate candidates beyond one machine (Ray Data + Lance on S3).

Modules:
    distributed: ``semantic embed`` / ``semantic candidates``: sync a Lance dataset anywhere.
    engines: the local and Ray engines that run the embedding stage over batches.
    candidates: near-duplicate candidate pairs from a shared ANN index.
    object_storage: S3-compatible storage options and credentials for Lance, Arrow and DuckDB.

May import: :mod:`semantic.decisions` and everything below it. Independent of
:mod:`semantic.warehouse` (neither imports the other).
"""
