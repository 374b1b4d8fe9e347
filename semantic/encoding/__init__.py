"""The encoder and its life: loading and running it, training it on the team's labels, keeping versions.

Modules:
    encoder: :class:`~semantic.encoding.encoder.Encoder` and ``load_encoder`` (one cached model per
        directory; the version every vector is stamped with).
    integrity: models are data, not code: safetensors weights only, and a saved model's files
        checked against the record written when it was saved.
    tokenizer: tokenising as the model does, without torch.
    backends: how it runs (sentence-transformers on torch, or the exported model in OpenVINO bf16).
    training: contrastive fine-tuning on labelled pairs (hard-negative mining, the loss, the epochs).
    collapse: the collapse guard a trained version must pass before it can be activated.
    quality_gate: the fast path may embed only if it ranks as the reference path does.
    registry: tuned versions under ``data/models``, which one is active, training from the warehouse.
    units: the units a text is scored and trained by (whole text and sentences).

May import: :mod:`semantic.demo`, :mod:`semantic.config`, :mod:`semantic.errors`. Nothing here
knows about vectors in LanceDB, decisions or the warehouse (checked by ``lint-imports``).
"""
