"""Review: people's decisions on what a build proposes, kept safely and fed back as labels.

Modules:
    queue: the value of a label (which item a person should look at first, ``fct_review_queue``).
    decisions: the append-only decision log (``semantic label``), its checks and its reader
        (``stg_semantic__review_decisions``).

May import: :mod:`semantic.decisions`, :mod:`semantic.vectors`, :mod:`semantic.encoding`,
:mod:`semantic.config`, :mod:`semantic.errors`.
"""
