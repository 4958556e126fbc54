"""Voice pairs and the loss mask of the two-voice training (torch-free: corpus.py and extract.py)."""

import random

import numpy as np

import corpus
import descant_tokens as tok
import extract


def line(tune_id, notes, voice, voices, style="chorale"):
    return {"id": tune_id, "source": "bach", "style": style, "meter": [4, 4], "notes": notes,
            "density": 1.0, "register": 60.0, "mode": "major", "tonic": 0, "voice": voice,
            "voices": voices, "phrase_ends": []}


def chorale(n, shift=0):
    """Four voices of piece `n`: soprano, a doubling instrument, alto, bass."""
    # Each piece its own tune (the split also groups lines with the same opening intervals).
    rng = random.Random(n)
    soprano = [[12 * i, 12, 72 + rng.randrange(8)] for i in range(16)]
    alto = [[12 * i, 12, 64 + rng.randrange(6) + shift] for i in range(16)]
    bass = [[24 * i, 24, 48 + rng.randrange(7)] for i in range(8)]
    return [line(f"bach/b{n}.mxl#0/{v}", notes, v, 4)
            for v, notes in enumerate([soprano, [list(x) for x in soprano], alto, bass])]


def test_every_voice_of_a_piece_lands_in_one_split():
    tunes = [t for n in range(60) for t in chorale(n, n % 5)]
    extract.assign_splits(tunes)
    by_piece = {}
    for t in tunes:
        by_piece.setdefault(extract.piece_of(t["id"]), set()).add(t["split"])
    assert all(len(splits) == 1 for splits in by_piece.values())
    assert len({s for splits in by_piece.values() for s in splits}) > 1, "pieces spread over splits"


def test_pairs_come_from_one_piece_and_never_hear_a_doubling_part():
    tunes = chorale(1) + chorale(2)
    pieces = corpus.pieces_of(tunes)
    assert sorted(len(p) for p in pieces) == [4, 4]
    rng = random.Random(3)
    for _ in range(200):
        pair = corpus.pick_pair(pieces, rng)
        if pair is None:
            continue
        own, heard = pair
        assert heard and own not in heard
        assert all(extract.piece_of(h["id"]) == extract.piece_of(own["id"]) for h in heard)
        # The soprano (voice 0) and its doubling (voice 1) never hear each other.
        assert not ({own["voice"]} | {h["voice"] for h in heard}) >= {0, 1} or own["voice"] not in (0, 1)


def test_singles_are_the_chorale_soprano_and_every_other_line():
    tunes = chorale(1) + [line("essen/x.abc#1", [[0, 12, 60]] * 8, 0, 1, "folk-european")]
    c = corpus.Corpus(tunes, corpus.Corpus.norms_of(tunes))
    assert sorted((t["style"], t["voice"]) for t in c.singles) == [("chorale", 0), ("folk-european", 0)]


def test_the_loss_mask_weighs_own_tokens_heard_tokens_and_phrase_marks():
    own = [(0, 12, 64), (12, 12, 62)]
    heard = [(0, 24, 72)]
    tokens, roles = tok.encode2(own, heard, (4, 4), None, [24])
    weights = corpus.loss_weights(roles, 0.25)
    # Walk the grammar: from a bar line to OWN (inclusive) is heard, then Descant's own.
    part = "own"
    for t, w in zip(tokens, weights):
        if t == tok.BAR:
            part = "heard"
            assert w == 1.0, "the bar line is the model's own decision"
        elif t >= tok.PHRASE_BASE:
            assert w == corpus.PHRASE_WEIGHT
        elif part == "heard":
            assert w == 0.25
            part = "own" if t == tok.OWN else part
        else:
            assert w == 1.0
    # Heard tokens can be masked out entirely; the own tokens stay whole.
    masked = corpus.loss_weights(roles, 0.0)
    assert masked[[i for i, t in enumerate(tokens) if tok.HEARD_BASE <= t < tok.OWN]].sum() == 0
    assert np.count_nonzero(masked == 1.0) == sum(r == tok.ROLE_OWN for r in roles)


def test_a_window_hears_a_note_sounding_across_its_first_bar_line():
    tunes = chorale(1)
    c = corpus.Corpus(tunes, corpus.Corpus.norms_of(tunes))
    soprano, alto = tunes[0], tunes[2]
    held = dict(soprano, notes=[[36, 24, 74]] + [[60 + 12 * i, 12, 72] for i in range(8)])
    tokens, roles, voice = c.window2(alto, [held], 256, 0, 1, random.Random(0), False)
    own, heard, _ = tok.decode2(tokens)
    assert heard[0] == (0, 12, 74), "what is left of the held note, at the window's start"
    assert voice == -1.0, "the alto lies below the soprano"


def test_a_call_and_answer_hears_the_tune_up_to_its_phrase_end_then_sings_the_rest():
    notes = [[12 * i, 12, 62 + i % 5] for i in range(64)]  # 16 bars of quarter notes
    tune = {**line("oneills1850/0001-0050.abc#1", notes, 0, 1, "irish-scottish"),
            "source": "oneills1850", "phrase_ends": [4 * 48]}
    own, heard, start = corpus.call_and_answer([tune], random.Random(3))
    # The phrase end after bar 4 splits it: heard before it, sung from it.
    assert [n[0] for n in heard[0]["notes"]] == [12 * i for i in range(16)]
    assert own["notes"][0][0] == 4 * 48 and len(own["notes"]) == 48
    assert own["phrase_ends"] == [] and 0 <= start < 4
    tokens, roles, _ = corpus.Corpus([tune], corpus.Corpus.norms_of([tune])).window2(
        own, heard, 512, 0, start, random.Random(0), False)
    tokens = np.asarray(tokens)
    heard_keys = np.flatnonzero((tokens >= tok.HEARD_BASE) & (tokens < tok.HEARD_BASE + 88))
    own_keys = np.flatnonzero((tokens >= tok.PITCH_BASE) & (tokens < tok.DUR_BASE))
    assert len(heard_keys) and len(own_keys)
    # Heard first, then Descant's own: nothing heard once the answer starts.
    assert heard_keys.max() < own_keys.min()


def test_a_tune_without_a_phrase_end_is_split_at_a_bar_line_two_to_four_bars_in():
    notes = [[12 * i, 12, 62 + i % 5] for i in range(40)]
    tune = {**line("airdsAirs/book1.abc#1", notes, 0, 1, "irish-scottish"), "source": "airdsAirs"}
    for seed in range(20):
        own, heard, _ = corpus.call_and_answer([tune], random.Random(seed))
        assert own["notes"][0][0] in (2 * 48, 3 * 48, 4 * 48)
        assert heard[0]["notes"][-1][0] < own["notes"][0][0]


def test_the_open_data_is_the_open_folders_without_the_files_of_unknown_source(monkeypatch):
    monkeypatch.setattr(extract, "DATA", "open")
    keep = [("oneills1850", "oneills1850/0001-0050.abc#3"), ("miscFolk", "miscFolk/northumbrianminstrelsyopus.abc#1")]
    drop = [("essenFolksong", "essenFolksong/irl.abc#1"), ("bach", "bach/bwv1.6.mxl#0/1"),
            ("miscFolk", "miscFolk/americanfifeopus.abc#2"), ("palestrina", "palestrina/Agnus.krn#0/0")]
    assert all(extract.in_data({"source": s, "id": i}) for s, i in keep)
    assert not any(extract.in_data({"source": s, "id": i}) for s, i in drop)
    monkeypatch.setattr(extract, "DATA", "all")
    assert all(extract.in_data({"source": s, "id": i}) for s, i in keep + drop)
