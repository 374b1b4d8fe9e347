"""Evaluation: measuring an encoder and the decisions on labelled sets (``semantic evaluate``), and the
code the scripts in ``benchmarks/`` share.

Modules:
    evaluate: ``semantic evaluate``: the tasks of a folder of labelled sets, for each model given.
    benchmark: the measurements themselves (retrieval, dedup, lookalike, clustering, collapse).

May import everything except :mod:`semantic.cli`.
"""
