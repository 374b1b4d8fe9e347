"""Supervised-contrastive training data and loss (``semantic train --loss supcon``).

The recipe of R-SupCon (Peeters & Bizer, 2022, "Supervised Contrastive Learning for Product
Matching"): the connected components of the labelled matches are classes; a batch holds several
members of each of several classes (sentence-transformers' group-by-label sampler: two per class,
round robin), and every other member of an anchor's class is its positive, every member of another
class a negative. Unlike pair losses, one batch teaches every pairing of its members at once.

The false-negative guard, as in hard-negative mining (:func:`semantic.encoding.training.mine_hard_negatives`):
an in-batch negative whose cosine with the anchor is above the anchor's weakest positive less
``margin`` is more likely an unlabelled match than a true non-match, so it is left out of that
anchor's denominator instead of being pushed away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from semantic.encoding.units import components


def class_examples(texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[int]
                   ) -> tuple[list[str], list[int]]:
    """Each text of a labelled match once, with its class: the connected component of the matches it is in.

    Texts only in non-matches form no class with two members and are left out (the sampler needs two).
    """
    classes = components(texts_a, texts_b, labels)
    texts = sorted(classes)
    return texts, [classes[t] for t in texts]


def make_loss(model: Any, temperature: float = 0.07, margin: float | None = 0.05) -> Any:
    """A supervised-contrastive loss module for ``model`` (sentence-transformers), over (sentence, label) rows."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class SupConLoss(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.temperature = temperature
            self.margin = margin

        def forward(self, sentence_features: Iterable[dict[str, Any]], labels: Any) -> Any:
            features = list(sentence_features)[0]
            emb = F.normalize(self.model(features)["sentence_embedding"], dim=-1)
            cos = emb @ emb.T
            n = cos.shape[0]
            eye = torch.eye(n, dtype=torch.bool, device=cos.device)
            same = labels.view(-1, 1) == labels.view(1, -1)
            positive = same & ~eye
            keep = ~eye
            if self.margin is not None:
                with torch.no_grad():
                    weakest = torch.where(positive, cos, torch.full_like(cos, 2.0)).min(dim=1).values
                    suspect = ~same & (cos > (weakest - self.margin).view(-1, 1))
                keep = keep & ~suspect
            logits = (cos / self.temperature).masked_fill(~keep, float("-inf"))
            log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
            has_positive = positive.any(dim=1)
            mean_positive = (log_prob.masked_fill(~positive, 0.0).sum(dim=1)
                             / positive.sum(dim=1).clamp(min=1))
            return -mean_positive[has_positive].mean()

    return SupConLoss()
