"""Golden-vector tests for the Python tokenizer; the Rust tokenizer checks the same file."""

import json
import pathlib

import descant_tokens as tok

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "tokenizer_v1.json").read_text())


def test_vocabulary_size_matches_the_golden_file():
    assert tok.VOCAB_SIZE_V1 == GOLDEN["vocab_size"] == 294
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


GOLDEN_V2 = json.loads((pathlib.Path(__file__).parent / "golden" / "tokenizer_v2.json").read_text())


def test_v2_appends_to_v1():
    assert tok.VOCAB_SIZE_V1 == 294
    assert (tok.HEARD_BASE, tok.OWN, tok.PHRASE_BASE, tok.VOCAB_SIZE) == (294, 382, 383, 387)
    assert GOLDEN_V2["vocab_size"] == tok.VOCAB_SIZE and GOLDEN_V2["own"] == tok.OWN


def test_encode2_matches_golden_tokens_and_roles():
    for c in GOLDEN_V2["cases"]:
        tokens, roles = tok.encode2(c["own"], c["heard"], c["meter"], c["n_bars"], c["phrase_ends"])
        assert tokens == c["tokens"], c["name"]
        assert roles == c["roles"], c["name"]
        own, heard, meter = tok.decode2(tokens)
        assert [list(n) for n in own] == c["decoded_own"], c["name"]
        assert [list(n) for n in heard] == c["decoded_heard"], c["name"]


def test_encode2_by_hand():
    # One 4/4 bar: a heard half note C5, then Descant's quarter E4.
    tokens, roles = tok.encode2([(12, 12, 64)], [(0, 24, 72)], (4, 4))
    assert tokens == [tok.BOS, tok.METER_BASE, tok.BAR,
                      tok.POS_BASE, tok.HEARD_BASE + 72 - 21, tok.DUR_BASE + 23, tok.OWN,
                      tok.POS_BASE + 12, tok.PITCH_BASE + 64 - 21, tok.DUR_BASE + 11]
    assert roles == [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]


def test_own_tokens_of_a_single_line_are_v1_tokens():
    notes = [(0, 12, 60), (12, 6, 62), (18, 6, 64), (24, 48, 65)]
    v1 = tok.encode(notes, (4, 4))
    v2, roles = tok.encode2(notes, [], (4, 4))
    assert [t for t, r in zip(v2, roles) if t != tok.OWN] == v1
    assert tok.decode2(v2)[0] == notes
