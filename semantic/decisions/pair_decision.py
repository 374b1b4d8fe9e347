"""The pair decision: is (a, b) the same item? Tuned cosine + lexical similarity + shared identifiers.

Embeddings blur exactly what decides a product or campaign match: model numbers, SKUs, campaign
codes ("lds4821ww" against "ldf6920bb"). The decision therefore combines these signals:

1. ``cosine``: the encoder's cosine similarity;
2. ``lexical``: cosine of TF-IDF character 3-5-grams (the lexical floor);
3. ``identifier``: 1 when the two texts share an identifier token (or where one such token of
   five or more characters contains the other, as in ``kxtg9343t`` / ``kx-tg9343``); and
   ``no_identifier``: 1 when either text has none, so that the model can tell "no evidence" from
   "conflicting evidence". An identifier is, once ``-``, ``/`` and ``.`` are removed, a token of at
   least four characters that mixes letters and digits (``lds4821ww``, ``spring24``), or a part
   number of at least seven digits (``010-10823-00``; not a decimal like a price). A measurement is
   not one: a number followed by a unit of one to three letters (``1080p``, ``120hz``, ``500gb``,
   ``14.2mp``) names a property that many different items share, and counting it as shared
   evidence made same-line products (``LN52A550`` / ``LN32A550``, both 1080p) look like matches.
   Nor is a date (``2026-11-30``).
4. ``identifier_shared_idf`` and ``identifier_conflict_idf``: how distinctive the identifiers are. A shared
   ``5-pin`` or ``ddr2`` is a specification many items have, a shared ``lds4821ww`` names one item; an unmatched
   ``f3u138-06`` against ``f3u138-10`` is a different item, an unmatched ``pc2-6400`` is a detail one listing
   left out. Each identifier is weighted by its inverse document frequency in the texts the TF-IDF was fitted
   on, ``log(n / df) / log(n)`` (1: in one text, or never seen; 0: in every text); the first feature is the
   largest weight of a shared identifier, the second the smaller of the two sides' largest weights of an
   identifier the other side lacks.
5. attribute evidence (:mod:`semantic.decisions.attributes`): capacities, counts, years, editions, platforms,
   colours, prices and bare catalogue numbers that conflict.
6. ``token_containment``: how much of the shorter text the other one covers, word by word, each word weighted by
   its idf like the identifiers (``log(n / df) / log(n)``): a short listing (``hinged screen joining clamp
   da-lite 30.99``) inside a long one is a match the cosine of two very different lengths undersells.
7. ``identifier_in_text`` and ``identifier_not_in_text``: whether an identifier of one text (or a bare number of
   five digits or more) appears inside the other text once both are written without spaces and punctuation, as
   ``1en501902`` inside ``tomtom 1en5 .019.02`` or ``sb93513q`` inside ``qrtsb93513q``; the second is 1 when
   some text has such identifiers and none appears in the other. Tokens split or glued differently by two
   shops are the same identifier to this test, not to the token comparison of 3.

A logistic regression over these is learned on ``train``, and monotone gradient-boosted trees beside it
(:mod:`semantic.decisions.boosted`), which score instead where they rank the ``valid`` pairs better and decide them
as well at a threshold chosen on other pairs (:func:`held_out_f1`; ``pair_decision_model``: ``auto``, the default,
``logistic`` or ``boosted``); the score is calibrated (isotonic) and
thresholded on ``valid`` (see :mod:`semantic.decisions.calibration`), and the result is scored on ``test`` by
:mod:`semantic.evaluation.benchmark`. Nothing is tuned on ``test``.

In the warehouse, :func:`decide_duplicates` does the same with the team's labelled duplicate pairs
(weights on the ``train`` split, calibration on the calibration splits) and scores the
near-duplicate candidates (dbt model ``int_duplicate_pair_scores``). Without enough labels it says
why and leaves the decision to the calibrated cosine threshold. Candidates whose cosine is too low
for any lexical or identifier evidence to lift them over the threshold (:func:`min_cosine_to_match`)
are not featurised: the result is the same, and a large table costs TF-IDF only near the top.

**Identifier veto.** When both texts carry identifiers and none is shared (``lds4821ww`` against
``ldf6920bb``), the score is 0: different model numbers or codes name different items however
alike the rest reads. On the labelled product pairs only 4-6 % of true matches conflict this way
(a retailer's typo or variant code), against 40-80 % of non-matches, and the veto lifts precision
most where the candidates are same-line products (dedup inside one catalogue). The boosted trees have no veto:
they learn what a conflict is worth from ``identifier``, ``no_identifier`` and ``identifier_conflict_idf``
together, which ranked the held-out pairs better than the veto did.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from semantic import faults
from semantic.decisions import boosted, calibration, reranked
from semantic.decisions.attributes import ATTRIBUTE_FEATURES, ATTRIBUTE_MAX, attribute_features
from semantic.errors import SemanticDataError

#: The text evidence after the attributes (6 and 7 above).
TEXT_FEATURES = ("token_containment", "identifier_in_text", "identifier_not_in_text")
TEXT_MAX = (1.0, 1.0, 1.0)
#: Features of which a pair has at most one (what :func:`min_cosine_to_match` bounds by the larger weight).
_EXCLUSIVE = (("number_shared", "number_conflict"), ("identifier_in_text", "identifier_not_in_text"))
FEATURES = ("cosine", "lexical", "identifier", "no_identifier", "identifier_shared_idf", "identifier_conflict_idf",
            *ATTRIBUTE_FEATURES, *TEXT_FEATURES)
#: The largest value each feature takes (the smallest is 0, the cosine's -1).
FEATURE_MAX = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, *ATTRIBUTE_MAX, *TEXT_MAX)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9\-/.]*")
_WORD = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+)*")  # a word of the containment: 2.0, f3u138-06 and usb whole
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_LONG_NUMBER = re.compile(r"(?<![\w.,])\d{5,}(?![\w.,])")
_IN_TEXT_CHARS = 5  # the shortest identifier looked for inside the other text
_SEPARATORS = re.compile(r"[\-/.]")
_MEASUREMENT = re.compile(r"\d+(?:\.\d+)?[a-z]{1,3}")  # 1080p, 120hz, 500gb, 14.2mp
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_DIGIT, _LETTER = re.compile(r"\d"), re.compile(r"[a-z]")
_PART_NUMBER_DIGITS = 7
_PAIR_CHUNK = 2_000  # pairs per TF-IDF product: two chunks of about 1,000 n-grams a row stay near 50 MB
_TEXT_CHUNK = 8_192  # texts per TF-IDF transform: its Python lists of n-gram columns are about 10 B an n-gram


def identifiers(text: str) -> set[str]:
    """Identifier-like tokens of ``text``: letters and digits mixed (at least four characters) or a
    part number of at least seven digits; measurements and dates are not identifiers."""
    out = set()
    for token in _TOKEN.findall(text.lower()):
        if not _DIGIT.search(token):  # most words: no digit, no identifier
            continue
        token = token.rstrip("-/.")
        if _MEASUREMENT.fullmatch(token) or _DATE.fullmatch(token):
            continue
        t = _SEPARATORS.sub("", token)
        part_number = t.isdigit() and len(t) >= _PART_NUMBER_DIGITS and "." not in token
        if (len(t) >= 4 and _LETTER.search(t)) or part_number:
            out.add(t)
    return out


def identifier_features(a: str, b: str) -> tuple[float, float]:
    """(shares an identifier, either side has none) for one pair."""
    shared, none, _, _ = _identifier_evidence(identifiers(a), identifiers(b), lambda token: 1.0)
    return shared, none


def _same_identifier(x: str, y: str) -> bool:
    """The same identifier, or one of five or more characters inside the other (``kxtg9343t`` / ``kxtg9343``)."""
    return x == y or (min(len(x), len(y)) >= 5 and (x in y or y in x))


def _identifier_evidence(ia: set[str], ib: set[str], weight: Callable[[str], float]
                         ) -> tuple[float, float, float, float]:
    """(``identifier``, ``no_identifier``, ``identifier_shared_idf``, ``identifier_conflict_idf``) of one pair;
    ``weight`` is an identifier's idf."""
    if not ia or not ib:
        return 0.0, 1.0, 0.0, 0.0
    matched_a = {x for x in ia if any(_same_identifier(x, y) for y in ib)}
    if not matched_a:  # nothing shared (the veto's case): only how distinctive each side's identifiers are
        return 0.0, 0.0, 0.0, min(max(map(weight, ia)), max(map(weight, ib)))
    matched_b = {y for y in ib if any(_same_identifier(x, y) for x in ia)}
    shared = max(weight(t) for t in matched_a | matched_b)
    only_a = max((weight(t) for t in ia - matched_a), default=0.0)
    only_b = max((weight(t) for t in ib - matched_b), default=0.0)
    return 1.0, 0.0, shared, min(only_a, only_b)


def cosines(embed: Callable[[Sequence[str]], Any], a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Cosine similarity of aligned pairs (a[i], b[i]) under ``embed`` (rows of unit length)."""
    return _row_dots(embed(a), embed(b))


def _row_dots(x: Any, y: Any) -> np.ndarray:
    """Dot product of each row of ``x`` with the same row of ``y`` (dense, or scipy sparse)."""
    if hasattr(x, "multiply"):  # scipy sparse (TF-IDF rows are unit length)
        return np.asarray(x.multiply(y).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", np.asarray(x), np.asarray(y))


class Lexical:
    """The lexical signal: TF-IDF on character 3-5-grams (within word boundaries); called on a batch of texts, their
    rows (sparse, unit length). It also holds the document frequency of each identifier and each word in the texts
    it was fitted on (:meth:`identifier_weight`, :meth:`word_weight`)."""

    def __init__(self, vectorizer: Any, fitted: tuple[dict[str, int], Any] | None = None,
                 identifier_df: Mapping[str, int] | None = None, n_texts: int = 0,
                 word_df: Mapping[str, int] | None = None) -> None:
        self.vectorizer = vectorizer
        self._fitted = fitted  # the rows of the texts it was fitted on, until forget_fitted()
        self.identifier_df = dict(identifier_df or {})
        self.word_df = dict(word_df or {})
        self.n_texts = int(n_texts)

    def _weight(self, df_of: Mapping[str, int], token: str) -> float:
        n = self.n_texts
        if n < 2:
            return 1.0
        df = min(max(df_of.get(token, 1), 1), n)
        return math.log(n / df) / math.log(n)

    def identifier_weight(self, token: str) -> float:
        """How distinctive an identifier is: ``log(n / df) / log(n)`` over the ``n`` texts the signal was fitted
        on, 1 for an identifier in one of them or in none, 0 for one in all of them."""
        return self._weight(self.identifier_df, token)

    def word_weight(self, word: str) -> float:
        """How distinctive a word is (the same measure as :meth:`identifier_weight`): ``the`` near 0, ``da-lite``
        high, a word never seen 1."""
        return self._weight(self.word_df, word)

    def __call__(self, batch: Sequence[str]) -> Any:
        batch = list(batch)
        if self._fitted is not None:  # the texts it was just fitted on: their rows are known (the same values)
            index, matrix = self._fitted
            rows = [index.get(t, -1) for t in batch]
            if min(rows, default=0) >= 0:
                return matrix[rows]
        return self.vectorizer.transform(batch)

    def forget_fitted(self) -> None:
        """Drop the fitted texts' rows (kept only so that featurising the pairs it was fitted on does not analyse
        their texts a second time: the character n-grams are most of a fit's time)."""
        self._fitted = None

    @staticmethod
    def vectorizer_for(vocabulary: Mapping[str, int] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1, dtype=np.float32,
                               vocabulary=vocabulary)

    def state(self) -> tuple[list[str], np.ndarray]:
        """The n-grams in column order and their idf: what :meth:`from_state` needs to transform the same."""
        vocabulary = self.vectorizer.vocabulary_
        grams = [""] * len(vocabulary)
        for gram, column in vocabulary.items():
            grams[column] = gram
        return grams, np.asarray(self.vectorizer.idf_, dtype=np.float64)

    @classmethod
    def from_state(cls, grams: Sequence[str], idf: np.ndarray, identifier_df: Mapping[str, int],
                   n_texts: int, word_df: Mapping[str, int] | None = None) -> Lexical:
        vectorizer = cls.vectorizer_for({gram: i for i, gram in enumerate(grams)})
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        return cls(vectorizer, identifier_df=identifier_df, n_texts=n_texts, word_df=word_df)


def lexical_embed(texts: Sequence[str]) -> Lexical:
    """The lexical signal fitted on ``texts`` (:class:`Lexical`), holding their rows until ``forget_fitted()``."""
    from collections import Counter

    texts = list(texts)
    vectorizer = Lexical.vectorizer_for()
    matrix = vectorizer.fit_transform(texts)
    distinct = set(texts)
    df = Counter(token for text in distinct for token in identifiers(text))
    word_df = Counter(word for text in distinct for word in set(_WORD.findall(text.lower())))
    return Lexical(vectorizer, ({t: i for i, t in enumerate(texts)}, matrix), identifier_df=df, n_texts=len(distinct),
                   word_df=word_df)


def feature_rows(
    cosine: Any, a: Sequence[str], b: Sequence[str], lexical: Callable[[Sequence[str]], Any]
) -> np.ndarray:
    """The feature matrix for pairs whose encoder cosine is already known (one row per pair).

    Each distinct text is vectorised and searched for identifiers once, however many pairs it is
    in (a candidate table holds every asset about 2k times), and the pairs' TF-IDF cosines are
    taken in chunks, so memory stays bounded by the chunk, not the candidate count. The identifiers'
    weights and the words' (``token_containment``) come from ``lexical`` (:meth:`Lexical.identifier_weight`,
    :meth:`Lexical.word_weight`); a lexical signal without document frequencies weighs every identifier and word 1.
    """
    position = {t: i for i, t in enumerate(dict.fromkeys([*a, *b]))}
    ia = np.fromiter((position[t] for t in a), dtype=np.int64, count=len(a))
    ib = np.fromiter((position[t] for t in b), dtype=np.int64, count=len(b))
    texts = list(position)
    found = [identifiers(t) for t in texts]
    weigh = getattr(lexical, "identifier_weight", lambda token: 1.0)
    weights = {token: float(weigh(token)) for found_in in found for token in found_in}  # once per identifier

    ident = np.empty((len(a), 4))  # filled row by row: a list of 700,000 tuples first held 100 MB more
    for row, (i, j) in enumerate(zip(ia, ib)):
        ident[row] = _identifier_evidence(found[i], found[j], weights.__getitem__)
    codes = [_in_text_codes(text, found_in) for text, found_in in zip(texts, found)]
    del found
    lex = _lexical_dots(texts, ia, ib, lexical)
    contained = _containment(texts, ia, ib, getattr(lexical, "word_weight", lambda word: 1.0))
    in_text = _in_text(texts, ia, ib, codes)
    return np.column_stack([np.asarray(cosine, dtype=float), lex, ident, attribute_features(a, b), contained, in_text])


def _in_text_codes(text: str, found: set[str]) -> tuple[str, ...]:
    """What :func:`_in_text` looks for of ``text``: its identifiers (``found``) and bare numbers of five
    digits or more, of at least :data:`_IN_TEXT_CHARS` characters."""
    return tuple(c for c in sorted(found | set(_LONG_NUMBER.findall(text.lower()))) if len(c) >= _IN_TEXT_CHARS)


def _in_text(texts: list[str], ia: np.ndarray, ib: np.ndarray, codes: Sequence[tuple[str, ...]]) -> np.ndarray:
    """(``identifier_in_text``, ``identifier_not_in_text``) of each pair (``texts[ia[k]]``, ``texts[ib[k]]``), the
    texts' identifiers in ``codes`` (:func:`_in_text_codes`): each text is written without spaces and punctuation
    once, and only where the other text of one of its pairs has something to look for."""
    out = np.zeros((len(ia), 2))
    has = np.fromiter((bool(c) for c in codes), dtype=bool, count=len(codes))
    need = np.zeros(len(texts), dtype=bool)
    need[ib[has[ia]]] = True
    need[ia[has[ib]]] = True
    squashed = [_NOT_ALNUM.sub("", text.lower()) if needed else "" for text, needed in zip(texts, need)]
    for row in np.flatnonzero(has[ia] | has[ib]):
        i, j = ia[row], ib[row]
        found = any(c in squashed[j] for c in codes[i]) or any(c in squashed[i] for c in codes[j])
        out[row] = (1.0, 0.0) if found else (0.0, 1.0)
    return out


def _pair_dots(parts: Sequence[Any], ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """The dot product of rows ``ia[k]`` and ``ib[k]`` for each k, the rows held in ``parts`` of
    :data:`_TEXT_CHUNK` rows each (row ``i`` is row ``i % _TEXT_CHUNK`` of part ``i // _TEXT_CHUNK``)."""
    out = np.zeros(len(ia))
    if not len(ia):
        return out
    part_a, row_a = np.divmod(ia, _TEXT_CHUNK)
    part_b, row_b = np.divmod(ib, _TEXT_CHUNK)
    group = part_a * len(parts) + part_b
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        pa_, pb_ = int(part_a[members[0]]), int(part_b[members[0]])
        for start in range(0, len(members), _PAIR_CHUNK):
            rows = members[start : start + _PAIR_CHUNK]
            out[rows] = _row_dots(parts[pa_][row_a[rows]], parts[pb_][row_b[rows]])
    return out


def _lexical_dots(texts: list[str], ia: np.ndarray, ib: np.ndarray, lexical: Callable[[Sequence[str]], Any]
                  ) -> np.ndarray:
    """The TF-IDF cosine of ``texts[ia[k]]`` and ``texts[ib[k]]`` for each k.

    The texts are transformed ``_TEXT_CHUNK`` at a time and the parts kept apart: a pair's two rows are taken from
    their own parts, so neither one matrix of every text (a copy of all the parts) nor the transform's lists for
    every text at once are ever held. At 100,000 texts the one-matrix way peaked about 600 MB above its 330 MB
    result. The dot products are the same, row for row.
    """
    if not len(ia):
        return np.zeros(0)
    return _pair_dots([lexical(texts[i : i + _TEXT_CHUNK]) for i in range(0, len(texts), _TEXT_CHUNK)], ia, ib)


def _containment(texts: list[str], ia: np.ndarray, ib: np.ndarray, weight: Callable[[str], float]) -> np.ndarray:
    """``token_containment`` of each pair (``texts[ia[k]]``, ``texts[ib[k]]``): the idf weight of the words the two
    share over the smaller of the two texts' total weights.

    Each text is a sparse row holding the square root of each distinct word's weight, so the dot product of two
    rows is the weight they share and a row's squared norm its total; the rows are built and multiplied in parts
    like the TF-IDF's (:func:`_pair_dots`), with one column per distinct word of ``texts``.
    """
    from scipy.sparse import csr_matrix

    if not len(ia):
        return np.zeros(0)
    columns: dict[str, int] = {}
    roots: dict[str, float] = {}
    raw = []
    for start in range(0, len(texts), _TEXT_CHUNK):
        indptr, indices, data = [0], [], []
        for text in texts[start : start + _TEXT_CHUNK]:
            for word in set(_WORD.findall(text.lower())):
                if word not in columns:
                    columns[word] = len(columns)
                    roots[word] = math.sqrt(max(weight(word), 0.0))
                indices.append(columns[word])
                data.append(roots[word])
            indptr.append(len(indices))
        raw.append((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                    np.asarray(indptr, dtype=np.int64)))
    parts = [csr_matrix(arrays, shape=(len(arrays[2]) - 1, max(1, len(columns)))) for arrays in raw]
    del raw, columns, roots
    total = np.concatenate([np.asarray(part.multiply(part).sum(axis=1)).ravel() for part in parts])
    shared = _pair_dots(parts, ia, ib)
    smaller = np.minimum(total[ia], total[ib])
    return np.divide(shared, smaller, out=np.zeros(len(ia)), where=smaller > 0)


def features(
    a: Sequence[str], b: Sequence[str], embed: Callable[[Sequence[str]], Any], lexical: Callable[[Sequence[str]], Any]
) -> np.ndarray:
    """The feature matrix (one row per pair, columns :data:`FEATURES`)."""
    return feature_rows(cosines(embed, a, b), a, b, lexical)


def _logistic(x: np.ndarray, coef: Sequence[float], intercept: float) -> np.ndarray:
    x = np.asarray(x)
    score = 1.0 / (1.0 + np.exp(-(x @ np.asarray(coef) + intercept)))
    conflict = (x[:, 2] == 0) & (x[:, 3] == 0)  # both have identifiers, none shared: the veto
    return np.asarray(np.where(conflict, 0.0, score))


Model = Literal["auto", "logistic", "boosted"]
MODELS: tuple[Model, ...] = ("auto", "logistic", "boosted")
#: How much higher the boosted trees' average precision on the calibration pairs must be for ``auto`` to take
#: them over the logistic weights (which are simpler to read and steadier on few labels).
BOOSTED_MARGIN = 0.005
#: How much lower the trees' held-out-half F1 (:func:`held_out_f1`) may be than the weights' for ``auto`` to still take
#: them: trees that rank the calibration pairs better but decide them worse at a threshold chosen on other pairs
#: are not taken.
DECIDE_TOLERANCE = 0.005
_HALVES = 50  # random halvings of the calibration pairs in held_out_f1


def held_out_f1(score: np.ndarray, y: np.ndarray, rounds: int = _HALVES) -> float:
    """How well ``score`` decides pairs at a threshold chosen on other pairs: the calibration pairs are split in two
    halves at random, the F1-best threshold of each half (:func:`calibration.choose_threshold`) is applied to the
    other, and the two F1s are averaged, over ``rounds`` splits (seeded: the same pairs give the same figure)."""
    score, y = np.asarray(score, dtype=float), np.asarray(y, dtype=int)
    rng = np.random.default_rng(0)
    total = 0.0
    for _ in range(rounds):
        half = rng.random(len(y)) < 0.5
        for chosen, applied in ((half, ~half), (~half, half)):
            threshold = calibration.choose_threshold(score[chosen], y[chosen], objective="f1")
            if threshold is not None:  # a half without a match chooses nothing: F1 0 on the other
                total += calibration.metrics_at(score[applied], y[applied], threshold)["f1"]
    return total / (2 * rounds)


@dataclass(frozen=True)
class PairDecision:
    """A fitted pair decision: logistic weights over :data:`FEATURES`, monotone boosted trees where they were
    chosen (``trees``; then they score, and the weights are kept to show each feature's direction), and a
    calibration of its score. ``choice`` says which model scores and why."""

    coef: tuple[float, ...]
    intercept: float
    calibration: calibration.Calibration
    trees: boosted.Trees | None = None
    choice: str = ""

    @property
    def model(self) -> str:
        """``boosted`` or ``logistic``: the model that scores."""
        return "logistic" if self.trees is None else "boosted"

    def score(self, x: np.ndarray) -> np.ndarray:
        """The score (before calibration) of each feature row: the trees' probability, or the logistic's with
        the identifier veto."""
        if self.trees is not None:
            return self.trees.probability(x)
        return _logistic(x, self.coef, self.intercept)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.probability(self.score(x))

    def decide(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.decide(self.score(x))


def check_model(model: str) -> Model:
    """``model`` when it names a pair decision model (:data:`MODELS`), else a clear error."""
    if model not in MODELS:
        raise SemanticDataError(f"pair_decision_model must be one of {', '.join(MODELS)}; got {model!r}")
    return model  # type: ignore[return-value]


def fit(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    objective: calibration.Objective = "f1",
    target_precision: float = 0.95,
    method: calibration.Method = "isotonic",
    min_positives: int = calibration.MIN_POSITIVES,
    model: Model = "auto",
    names: Sequence[str] = FEATURES,
) -> PairDecision:
    """Learn the model on train, calibrate and threshold its score on valid.

    ``model``: ``logistic`` (weights over the features, with the identifier veto), ``boosted`` (monotone
    gradient-boosted trees, :mod:`semantic.decisions.boosted`) or ``auto``: the trees where their average
    precision on valid beats the logistic's by :data:`BOOSTED_MARGIN` and their :func:`held_out_f1` on valid is
    at most :data:`DECIDE_TOLERANCE` below the logistic's, else the logistic. ``names`` are the
    columns of the feature rows (the trees' directions follow them).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    check_model(model)
    weights = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    coef, intercept = tuple(float(c) for c in weights.coef_[0]), float(weights.intercept_[0])
    score = _logistic(x_valid, coef, intercept)
    trees, choice = None, "logistic: as pair_decision_model says"
    if model != "logistic":
        fitted = boosted.fit(x_train, y_train, list(names)[: np.shape(x_train)[1]])
        tree_score = fitted.probability(x_valid)
        if model == "boosted":
            trees, score, choice = fitted, tree_score, "boosted: as pair_decision_model says"
        elif len(set(np.asarray(y_valid).tolist())) < 2:
            choice = "logistic: the calibration pairs hold one label only, so the trees cannot be compared"
        else:
            ap_logistic = average_precision_score(y_valid, score)
            ap_trees = average_precision_score(y_valid, tree_score)
            f1_logistic, f1_trees = held_out_f1(score, y_valid), held_out_f1(tree_score, y_valid)
            better = ap_trees >= ap_logistic + BOOSTED_MARGIN and f1_trees >= f1_logistic - DECIDE_TOLERANCE
            choice = (f"{'boosted' if better else 'logistic'}: average precision on the calibration pairs "
                      f"{ap_trees:.3f} with the trees against {ap_logistic:.3f} with the weights, F1 at a threshold "
                      f"chosen on the other half {f1_trees:.3f} against {f1_logistic:.3f}")
            if better:
                trees, score = fitted, tree_score
    cal = calibration.fit(score, y_valid, objective=objective, target_precision=target_precision, method=method,
                          min_positives=min_positives)
    return PairDecision(coef, intercept, cal, trees, choice)


def min_cosine_to_match(decision: PairDecision, threshold: float | None = None) -> float:
    """The lowest cosine at which a pair can still reach the decision's threshold (or ``threshold``, a
    score), with the most lexical (1.0), identifier and attribute evidence the weights (or the trees) reward; below
    it the decision is no match."""
    t = decision.calibration.threshold if threshold is None else threshold
    if decision.trees is not None:
        if t <= 0.0:
            return -math.inf
        if t >= 1.0:
            return math.inf
        n = decision.trees.n_features
        return boosted.lowest_value(decision.trees, 0, math.log(t / (1.0 - t)), [-1.0, *[0.0] * (n - 1)],
                                    list(FEATURE_MAX[:n]), boosted.constraints(FEATURES[:n]))
    cos_w, lex_w, shared_w, none_w, shared_idf_w, conflict_idf_w, *evidence_w = decision.coef
    if t <= 0.0 or cos_w <= 0.0:
        return -math.inf
    if t >= 1.0:
        return math.inf
    # with identifiers on both sides and one shared, both idf features can be up to 1; with none on a side, both
    # are 0; (0, 0) is the veto
    with_shared = shared_w + max(shared_idf_w, 0.0) + max(conflict_idf_w, 0.0)
    best_rest = decision.intercept + max(lex_w, 0.0) + max(with_shared, none_w)
    gains = dict(zip(FEATURES[6:], (max(w * top, 0.0) for w, top in zip(evidence_w, FEATURE_MAX[6:]))))
    for either in _EXCLUSIVE:  # one of the two is 0 in every pair
        gains[either[0]] = max(gains.pop(either[0], 0.0), gains.pop(either[1], 0.0))
    best_rest += sum(gains.values())
    return (math.log(t / (1.0 - t)) - best_rest) / cos_w


DECISION_COLUMNS = ("lexical_similarity", "shares_identifier", "identifier_conflict", "decision_score",
                    "decision_probability", "decision_threshold", "scorer", "scorer_reason", "reranker_score",
                    "reranker_version")
TextPairs = Callable[[pa.Table], tuple[list[str], list[str]]]
PairScorer = Callable[[Sequence[str], Sequence[str]], Any]


@dataclass(frozen=True)
class PairReranker:
    """A pair reranker as the decision uses it: its probability for aligned pairs, its version, and the
    band of decision probabilities where it is asked (:mod:`semantic.decisions.reranked`)."""

    score: PairScorer
    version: str
    band: tuple[float, float] = reranked.DEFAULT_BAND


@dataclass(frozen=True)
class FittedDuplicates:
    """The pair decision fitted on a team's labelled duplicates, with the TF-IDF it was fitted with;
    ``decision`` is None (and ``reason`` says why) when the labels cannot support one. ``reranked`` is
    its second stage when a reranker was given and helps on the held-out pairs, else None and
    ``reranker_reason`` says why."""

    decision: PairDecision | None
    lexical: Callable[[Sequence[str]], Any] | None
    reason: str = ""
    reranked: reranked.RerankedDecision | None = None
    reranker: PairReranker | None = None
    reranker_reason: str = ""


def fit_duplicates(
    labelled: pa.Table,
    calibration_splits: Sequence[str] = ("valid", "test"),
    train_split: str = "train",
    objective: calibration.Objective = "precision",
    target_precision: float = 0.95,
    method: calibration.Method = "isotonic",
    min_positives: int = calibration.MIN_POSITIVES,
    reranker: PairReranker | None = None,
    model: Model = "auto",
) -> FittedDuplicates:
    """Fit the pair decision on labelled duplicate pairs (text_a, text_b, similarity: the encoder
    cosine, label, split): weights on ``train_split``, calibration on ``calibration_splits``; the
    TF-IDF is fitted on the labelled texts, so it does not change as the asset table grows. With
    ``reranker`` (trained on ``train_split`` alone), the second stage is learned on the calibration
    splits' pairs in its band (:func:`semantic.decisions.reranked.fit`). ``model`` is :func:`fit`'s."""
    missing = {"text_a", "text_b", "similarity", "label", "split"} - set(labelled.column_names)
    if missing:
        raise SemanticDataError(f"fit_duplicates: the labelled pairs lack column(s) {sorted(missing)}")
    split = np.asarray(labelled.column("split").to_pylist(), dtype=object)
    label = np.asarray(labelled.column("label").to_pylist(), dtype=float)
    train, held = split == train_split, np.isin(split, list(calibration_splits))
    n_train, n_held = int(label[train].sum()), int(label[held].sum())
    if n_train < min_positives or n_held < min_positives:
        return FittedDuplicates(None, None, (
            f"{n_train} labelled duplicates in {train_split!r} and {n_held} in {list(calibration_splits)} "
            f"(need {min_positives} in each): label more duplicate pairs to use the pair decision"))
    if len(set(label[train])) < 2:
        return FittedDuplicates(None, None, f"the {train_split!r} duplicate pairs hold one label only: "
                                            "label some non-duplicates")
    ta, tb = labelled.column("text_a").to_pylist(), labelled.column("text_b").to_pylist()
    lexical = lexical_embed(sorted(set(ta) | set(tb)))
    x = feature_rows(labelled.column("similarity").to_numpy(zero_copy_only=False), ta, tb, lexical)
    lexical.forget_fitted()
    decision = fit(x[train], label[train], x[held], label[held], objective=objective,
                   target_precision=target_precision, method=method, min_positives=min_positives, model=model)
    if decision.calibration.fallback:
        return FittedDuplicates(None, None, f"the pair decision has no calibrated threshold "
                                            f"({decision.calibration.reason})")
    if reranker is None:
        return FittedDuplicates(decision, lexical, reranker_reason="no pair reranker is active")
    first = decision.score(x[held])
    rows = np.flatnonzero(held)
    scores = reranked.ask_in_band(first, reranked.score_band(decision, reranker.band), [ta[i] for i in rows],
                                  [tb[i] for i in rows], reranker.score)
    stage, why = reranked.fit(decision, first, scores, label[held], reranker.version, band=reranker.band,
                              objective=objective, target_precision=target_precision, method=method,
                              min_positives=min_positives)
    if stage is None:
        return FittedDuplicates(decision, lexical, reranker_reason=why)
    return FittedDuplicates(decision, lexical, reranked=stage, reranker=reranker, reranker_reason=stage.summary())


def _text_columns(rows: pa.Table) -> tuple[list[str], list[str]]:
    return rows.column("text_a").to_pylist(), rows.column("text_b").to_pylist()


def score_duplicates(candidates: pa.Table, fitted: FittedDuplicates, text_pairs: TextPairs = _text_columns) -> pa.Table:
    """``candidates`` (similarity and any other columns, kept) with :data:`DECISION_COLUMNS` added.

    ``scorer`` is ``decision``, or ``cosine`` (decision columns NULL, ``scorer_reason`` why) when
    there is no decision: the caller then thresholds the cosine. With the decision's second stage,
    the rows in its band get ``reranker_score`` and ``reranker_version`` (NULL elsewhere), and the
    score, probability and threshold are the reranked ones. Only rows at or above
    :func:`min_cosine_to_match` are featurised; ``text_pairs`` returns their two texts (by default
    from text_a and text_b), so a caller can fetch texts for those rows alone.
    """
    if "similarity" not in candidates.column_names:
        raise SemanticDataError("score_duplicates: the candidates lack column(s) ['similarity']")
    faults.point("pair_decision")  # the fault-injection suite: pairs being scored
    decision, n = fitted.decision, candidates.num_rows
    out: dict[str, Any] = {c: pa.nulls(n, pa.float64()) for c in DECISION_COLUMNS}
    out["shares_identifier"] = out["identifier_conflict"] = pa.nulls(n, pa.bool_())
    out["reranker_version"] = pa.nulls(n, pa.string())
    out["scorer"] = pa.array(["cosine" if decision is None else "decision"] * n, pa.string())
    out["scorer_reason"] = pa.array([fitted.reason or None] * n, pa.string())
    if decision is not None and fitted.lexical is not None:
        cosine = candidates.column("similarity").to_numpy(zero_copy_only=False).astype(float)
        lowest = decision.calibration.threshold  # the lowest first-stage score that can still be a match
        if fitted.reranked is not None:  # the band's pairs may be lifted, and the threshold moved
            lowest = min(lowest, fitted.reranked.band[0], fitted.reranked.calibration.threshold)
        rows = np.flatnonzero(cosine >= min_cosine_to_match(decision, lowest))
        a, b = text_pairs(candidates.take(pa.array(rows, pa.int64())))
        x = feature_rows(cosine[rows], a, b, fitted.lexical)
        score = np.zeros(n)
        score[rows] = decision.score(x)
        cal = decision.calibration
        rerank_score = np.full(n, np.nan)
        if fitted.reranked is not None and fitted.reranker is not None:  # the second stage, in its band
            asked = np.flatnonzero(fitted.reranked.in_band(score[rows]))
            rerank_score[rows] = reranked.ask_in_band(score[rows], fitted.reranked.band, a, b, fitted.reranker.score)
            score = fitted.reranked.combine(score, rerank_score)
            cal = fitted.reranked.calibration
            version = np.full(n, None, dtype=object)
            version[rows[asked]] = fitted.reranker.version
            out["reranker_version"] = pa.array(version, pa.string())
        out["reranker_score"] = pa.array(rerank_score, pa.float64(), mask=np.isnan(rerank_score))
        lex, shared, conflict = (np.full(n, np.nan) for _ in range(3))
        lex[rows], shared[rows] = x[:, 1], x[:, 2]
        conflict[rows] = (x[:, 2] == 0) & (x[:, 3] == 0)
        skipped = np.ones(n, dtype=bool)
        skipped[rows] = False
        out["lexical_similarity"] = pa.array(lex, pa.float64(), mask=skipped)
        out["shares_identifier"] = pa.array(shared == 1, pa.bool_(), mask=skipped)
        out["identifier_conflict"] = pa.array(conflict == 1, pa.bool_(), mask=skipped)
        out["decision_score"] = pa.array(score, pa.float64())
        out["decision_probability"] = pa.array(cal.probability(score), pa.float64())
        out["decision_threshold"] = pa.array(np.full(n, cal.threshold), pa.float64())
    table = candidates
    for name in DECISION_COLUMNS:
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, out[name])
    return table


def decide_duplicates(
    labelled: pa.Table, candidates: pa.Table, **options: Any
) -> tuple[pa.Table, PairDecision | None, str]:
    """:func:`fit_duplicates` (``options`` are its settings) then :func:`score_duplicates` on
    candidates with text_a and text_b: the scored candidates, the decision (None when the labels
    cannot support one) and the reason."""
    missing = {"text_a", "text_b", "similarity"} - set(candidates.column_names)
    if missing:
        raise SemanticDataError(f"decide_duplicates: candidates lacks column(s) {sorted(missing)}")
    fitted = fit_duplicates(labelled, **options)
    return score_duplicates(candidates, fitted), fitted.decision, fitted.reason


# --- the fitted decision kept between builds ---------------------------------------------------------------------

STATE_DIR = "pair_decision"
"""The folder, under the calibration folder, holding the last fitted decision (:func:`save_fitted`)."""


@dataclass(frozen=True)
class SavedDecision:
    """A decision fitted by an earlier build, with what it was learned from.

    Attributes:
        fitted: The decision, its TF-IDF and its second stage (the reranker as given to :func:`load_fitted`).
        decision_id: The fingerprint of the labels, vectors and settings it was learned from (what the pair rows
            it scored record in ``decision_inputs``).
        settings: The settings it was learned with (compared as they are).
        pair_keys: One key per labelled pair it was learned from (:func:`pair_keys`).
    """

    fitted: FittedDuplicates
    decision_id: str
    settings: str
    pair_keys: frozenset[str]


def pair_keys(labelled: pa.Table) -> frozenset[str]:
    """A key per labelled pair: a hash of its two texts, label and split (what the decision is learned from)."""
    columns = [labelled.column(c).to_pylist() for c in ("text_a", "text_b", "label", "split")]
    return frozenset(hashlib.md5("\x1f".join(str(v) for v in row).encode()).hexdigest() for row in zip(*columns))


def changed_share(learned_on: frozenset[str], now: frozenset[str]) -> float:
    """The share of the pairs a decision was learned on that are gone or new since (the larger of the two counts,
    over the pairs it was learned on)."""
    return max(len(learned_on - now), len(now - learned_on)) / max(1, len(learned_on))


def _decision_state(decision: PairDecision) -> dict[str, Any]:
    return {"coef": list(decision.coef), "intercept": decision.intercept, "calibration": decision.calibration.to_dict(),
            "trees": None if decision.trees is None else decision.trees.to_dict(), "choice": decision.choice}


def _decision_from(state: Mapping[str, Any]) -> PairDecision:
    trees = state.get("trees")
    return PairDecision(tuple(float(c) for c in state["coef"]), float(state["intercept"]),
                        calibration.Calibration.from_dict(dict(state["calibration"])),
                        None if trees is None else boosted.Trees.from_dict(trees), str(state.get("choice", "")))


def save_fitted(folder: Path | str, fitted: FittedDuplicates, decision_id: str, settings: str,
                keys: frozenset[str]) -> None:
    """Write a fitted decision (one with a decision and a :class:`Lexical`) to ``folder``, replacing what was there:
    written aside, then renamed into place, so a reader sees the old state or the new one."""
    if fitted.decision is None or not isinstance(fitted.lexical, Lexical):
        raise ValueError("save_fitted: only a fitted decision is kept")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        grams, idf = fitted.lexical.state()
        np.save(tmp / "idf.npy", idf)
        identifier_df, n_texts = fitted.lexical.identifier_df, fitted.lexical.n_texts
        stage = None
        if fitted.reranked is not None:
            stage = {k: v for k, v in asdict(fitted.reranked).items() if k not in ("first", "calibration")}
            stage["calibration"] = fitted.reranked.calibration.to_dict()
        (tmp / "state.json").write_text(json.dumps({
            "decision_id": decision_id, "settings": settings, "pair_keys": sorted(keys),
            "decision": _decision_state(fitted.decision), "reranked": stage, "reason": fitted.reason,
            "reranker_reason": fitted.reranker_reason, "grams": grams, "identifier_df": identifier_df,
            "identifier_texts": n_texts, "word_df": fitted.lexical.word_df,
        }), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_fitted(folder: Path | str, reranker: PairReranker | None) -> SavedDecision | None:
    """The decision :func:`save_fitted` wrote, or None: nothing saved, an unreadable state, one of other features
    (saved by an earlier release), or one whose second stage needs a reranker other than ``reranker``."""
    folder = Path(folder)
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        decision = _decision_from(state["decision"])
        if len(decision.coef) != len(FEATURES) or (decision.trees is not None
                                                    and decision.trees.n_features != len(FEATURES)):
            return None
        lexical = Lexical.from_state(state["grams"], np.load(folder / "idf.npy", allow_pickle=False),
                                     {str(k): int(v) for k, v in state["identifier_df"].items()},
                                     int(state["identifier_texts"]),
                                     {str(k): int(v) for k, v in state["word_df"].items()})
        stage = state.get("reranked")
        second = None
        if stage is not None:
            if reranker is None or reranker.version != stage["reranker_version"]:
                return None
            second = reranked.RerankedDecision(
                first=decision, band=tuple(stage["band"]), probability_band=tuple(stage["probability_band"]),
                coef=tuple(stage["coef"]), intercept=float(stage["intercept"]),
                calibration=calibration.Calibration.from_dict(dict(stage["calibration"])),
                reranker_version=str(stage["reranker_version"]), held_share_in_band=float(stage["held_share_in_band"]),
                first_ap=float(stage["first_ap"]), reranked_ap=float(stage["reranked_ap"]))
        fitted = FittedDuplicates(decision, lexical, str(state.get("reason", "")), second,
                                  reranker if second is not None else None, str(state.get("reranker_reason", "")))
        return SavedDecision(fitted, str(state["decision_id"]), str(state["settings"]), frozenset(state["pair_keys"]))
    except (OSError, ValueError, KeyError, TypeError):  # nothing saved, or not readable: the build fits again
        return None
