"""Tokenising exactly as the model's sentence-transformers Transformer module does, without torch.

The encoder (:mod:`semantic.encoding.encoder`) sorts texts by token length and pads each batch
itself, so it tokenises first, here, with the fast tokenizer of the model directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Characters kept before tokenising: far above any 512-token window, so only pathological
#: inputs (a 100,000-character paste) are cut here; the tokenizer truncates the rest.
MAX_CHARS = 20_000
#: Texts tokenised per tokenizer call (bounds the memory its encoding objects take at once).
TOKENIZE_CHUNK = 8192


class Tokenizer:
    """Tokenises like the model's sentence-transformers Transformer module, without importing torch.

    Uses the fast tokenizer file (``tokenizer.json``) with the module's ``max_seq_length`` and
    ``do_lower_case`` (``sentence_bert_config.json``); a model without one falls back to the
    tokenizer transformers loads for it (which imports torch).
    """

    def __init__(self, model_dir: Path) -> None:
        folder = model_dir / transformer_path(model_dir)
        st_cfg = _read_json(folder / "sentence_bert_config.json")
        tok_cfg = _read_json(folder / "tokenizer_config.json")
        hf_cfg = _read_json(folder / "config.json")
        self.max_length = int(
            st_cfg.get("max_seq_length")
            or min(int(tok_cfg.get("model_max_length") or 512), int(hf_cfg.get("max_position_embeddings") or 512))
        )
        self.lower = bool(st_cfg.get("do_lower_case", False))
        self._tok: Any = None
        self._hf: Any = None
        path = folder / "tokenizer.json"
        if path.is_file():
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(str(path))
            padding = self._tok.padding
            pad = tok_cfg.get("pad_token")
            pad_id = self._tok.token_to_id(pad) if isinstance(pad, str) else None
            self.pad_id = int(padding["pad_id"] if padding else pad_id or 0)
            self._tok.enable_truncation(self.max_length)
            self._tok.no_padding()
        else:
            from transformers import AutoTokenizer

            self._hf = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self.pad_id = int(self._hf.pad_token_id or 0)

    def encode(self, texts: list[str]) -> tuple[list[np.ndarray], list[np.ndarray], int]:
        """Token ids and type ids of each text (truncated to the window), and how many were cut.

        Texts are tokenised ``TOKENIZE_CHUNK`` at a time and kept as small int32 arrays, so a call
        over hundreds of thousands of texts never holds all the tokenizer's encoding objects at once.
        """
        ids: list[np.ndarray] = []
        types: list[np.ndarray] = []
        cut = 0
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            part_ids, part_types, part_cut = self._encode_chunk(texts[start : start + TOKENIZE_CHUNK])
            ids.extend(np.asarray(row, dtype=np.int32) for row in part_ids)
            types.extend(np.asarray(row, dtype=np.int32) for row in part_types)
            cut += part_cut
        return ids, types, cut

    def _encode_chunk(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]], int]:
        if self.lower:
            texts = [t.lower() for t in texts]
        if self._tok is None:
            out = self._hf(texts, truncation=True, max_length=self.max_length, return_token_type_ids=True)
            ids, types = out["input_ids"], out["token_type_ids"]
            full = [i for i, row in enumerate(ids) if len(row) >= self.max_length]  # maybe cut: check
            lengths = self._hf([texts[i] for i in full], truncation=False)["input_ids"] if full else []
            over = {i for i, row in zip(full, lengths) if len(row) > self.max_length}
            over.update(i for i, t in enumerate(texts) if len(t) >= MAX_CHARS)
            return ids, types, len(over)
        encodings = self._tok.encode_batch(texts)
        cut = sum(1 for t, e in zip(texts, encodings) if e.overflowing or len(t) >= MAX_CHARS)
        return [e.ids for e in encodings], [e.type_ids for e in encodings], cut

    def pad(self, ids: Sequence[np.ndarray], type_ids: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Right-pad one batch into int64 arrays: input ids, attention mask and token type ids."""
        width = max(len(row) for row in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        types = np.zeros((len(ids), width), dtype=np.int64)
        for r, (row, trow) in enumerate(zip(ids, type_ids)):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
            types[r, : len(trow)] = trow
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}


def _read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def transformer_path(model_dir: Path) -> str:
    """The folder (relative to ``model_dir``) of a sentence-transformers model's Transformer module."""
    for module in json.loads((model_dir / "modules.json").read_text()):
        if str(module.get("type", "")).endswith("Transformer"):
            return str(module.get("path", ""))
    return ""
