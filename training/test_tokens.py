"""Golden-vector tests for the Python tokenizer; the Rust tokenizer checks the same file."""

import json
import pathlib

import descant_tokens as tok

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "tokenizer_v1.json").read_text())


def test_vocabulary_size_matches_the_golden_file():
    assert tok.VOCAB_SIZE == GOLDEN["vocab_size"] == 294
    assert tok.TICKS_PER_BEAT == GOLDEN["ticks_per_beat"]


def test_encode_matches_golden_tokens():
    for case in GOLDEN["cases"]:
        assert tok.encode(case["notes"], case["meter"], case.get("n_bars")) == case["tokens"], case["name"]


def test_decode_matches_golden_notes():
    for case in GOLDEN["cases"]:
        notes, meter = tok.decode(case["tokens"])
        assert [list(n) for n in notes] == case["decoded"], case["name"]
        assert list(meter) == case["meter"]


def test_round_trip_keeps_in_range_notes_exactly():
    notes = [(0, 3, 60), (3, 9, 62), (12, 12, 64), (60, 24, 67)]
    assert tok.decode(tok.encode(notes, (4, 4)))[0] == notes


def test_pitch_folds_by_octaves_and_duration_clamps():
    (onset, dur, key), = tok.decode(tok.encode([(0, 500, 130)], (4, 4)))[0]
    assert (onset, dur, key) == (0, tok.MAX_DUR_TICKS, 130 - 24)
