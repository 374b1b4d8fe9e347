"""Ditto-style augmentation of training text: the operators, their guards and what each loss's data gets."""

import random
from collections import Counter
from pathlib import Path

import pytest

from semantic.encoding import augment
from semantic.encoding.training import TrainingConfig, version_name
from semantic.errors import SemanticConfigError

LISTING = ("elite screens cinewhite cinema235 series fixed frame screen - 85 diagonal - electronics - general "
           "r85wh1 409.0")
COPY = "Warm parkas for winter. Free delivery on every order. Save 20% this weekend."


def test_no_operator_deletes_a_token_with_a_digit_or_invents_one():
    for seed in range(200):
        for text in (LISTING, COPY):
            rng = random.Random(seed)
            for op in (augment.span_delete, augment.attribute_drop):
                out = op(text, rng)
                assert Counter(t for t in text.split() if any(c.isdigit() for c in t)) <= Counter(out.split())
                assert set(out.split()) <= set(text.split())
                assert len(out.split()) < len(text.split())  # something went
            shuffled = augment.token_shuffle(text, rng)
            assert sorted(shuffled.split()) == sorted(text.split()) and shuffled != text


def test_attribute_drop_removes_one_whole_field_without_a_digit():
    seen = set()
    for seed in range(100):
        out = augment.attribute_drop(COPY, random.Random(seed))
        assert out in ("Free delivery on every order. Save 20% this weekend.",
                       "Warm parkas for winter. Save 20% this weekend.")
        seen.add(out)
    assert len(seen) == 2  # either field without a digit; never the one with "20%"
    # one field only: a span is deleted instead
    assert len(augment.attribute_drop("warm wool parka jacket", random.Random(0)).split()) < 4


def test_copies_are_deterministic_keep_labels_and_classes():
    assert augment.augment_text(LISTING, 7, 1) == augment.augment_text(LISTING, 7, 1)
    copies = {augment.augment_text(LISTING, 7, c) for c in range(1, 30)}
    assert len(copies) > 10 and LISTING not in copies
    a, b, y = augment.augmented_pairs(["x y z w", "p q r s"], ["x y z", "p q"], [1, 0], copies=2, seed=3)
    assert len(a) == len(b) == len(y) == 6 and y == [1, 0, 1, 0, 1, 0] and a[:2] == ["x y z w", "p q r s"]
    triplets = augment.augmented_triplets([("a b c d", "a b c", "n m o")], copies=1, seed=3)
    assert len(triplets) == 2 and triplets[1][2] == "n m o"  # the negative is kept
    texts, classes = augment.augmented_classes(["one two three four", "one two three four five"], [0, 0], 2, 5)
    assert set(classes) == {0} and len(texts) == len(set(texts)) >= 3


def test_the_setting_is_checked_and_names_a_version_only_when_used():
    with pytest.raises(SemanticConfigError, match="augment must be a whole number of copies"):
        TrainingConfig(augment=-1)
    with pytest.raises(SemanticConfigError, match="augment"):
        TrainingConfig(augment=True)
    from semantic.encoding.training import PairSet, Task

    task = Task("t", "pairs", PairSet(["a"], ["b"], [1]), None, Path("t"))
    assert version_name([task], TrainingConfig()) == version_name([task], TrainingConfig(augment=0))
    assert version_name([task], TrainingConfig(augment=1)) != version_name([task], TrainingConfig())
