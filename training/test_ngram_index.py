"""The originality index: hashing matches the golden vectors the Rust reader is checked against,
and a built index holds what it was built from."""

import json
import pathlib
import random

import ngram_index as ni

GOLDEN = pathlib.Path(__file__).parent / "golden" / "ngram_hash_v1.json"


def test_hashing_matches_the_golden_vectors():
    for case in json.loads(GOLDEN.read_text()):
        assert str(ni.fnv1a(case["intervals"])) == case["fnv1a"]
        assert ni.bit_positions(case["intervals"], case["k"], case["m"]) == case["bits"]


def test_an_index_holds_its_ngrams_and_few_others():
    rng = random.Random(1)
    grams = [tuple(rng.randint(-7, 7) for _ in range(ni.N)) for _ in range(2000)]
    index = ni.build(grams)
    assert all(ni.contains(index, g) for g in grams)
    others = [tuple(rng.randint(-12, 12) for _ in range(ni.N)) for _ in range(2000)]
    false = sum(ni.contains(index, g) for g in others if g not in set(grams))
    assert false < 100  # about 1 % expected


def test_only_distinctive_ngrams_are_indexed():
    scale = {"notes": [[i * 12, 12, k] for i, k in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 74])]}
    rare = {"notes": [[i * 12, 12, k] for i, k in enumerate([60, 67, 61, 66, 62, 65, 63, 64, 70])]}
    grams = ni.distinctive_ngrams([scale, scale, scale, rare])
    assert tuple(ni.intervals_of(rare["notes"])[:ni.N]) in grams
    assert tuple(ni.intervals_of(scale["notes"])[:ni.N]) not in grams
