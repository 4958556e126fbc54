"""Descant's token grammar, contracts v1 and v2 (the Python side; `inference/src/model/tokenizer.rs` is
the Rust side).

Both sides must agree token for token: `training/golden/tokenizer_v1.json` and `tokenizer_v2.json`
hold the golden vectors, checked by `training/test_tokens.py` and by the Rust unit tests.

Time is measured in ticks: TICKS_PER_BEAT ticks to a quarter note, so a sixteenth is 3 ticks and an
eighth-note triplet 4. A sequence is

    BOS METER(m) BAR (POS(p) PITCH(k) DUR(d))* BAR ... [EOS]

Every bar starts with BAR (the first one too); a METER token follows BOS and follows BAR when the
meter changes. POS is the onset inside the bar in ticks, PITCH a MIDI key, DUR the length in ticks.
Notes in a bar are in onset order (ties broken by duration, then key).

Grammar v2 (the two-voice grammar, contract v2) appends tokens and keeps every v1 id. Each bar is

    BAR [PHRASE(k)] (POS(p) HEARD(k) DUR(d))* OWN (POS(p) PITCH(k) DUR(d))*

HEARD notes are what Descant hears in that bar (the player's and the track's notes, possibly
several at once); OWN closes them; then come Descant's own notes, a monophonic line. PHRASE(k),
when present, says the phrase ends k bars after this one (k = 0: it ends in this bar). A model
predicts its own tokens; the heard ones are fed by the engine (or predicted, as an expectation).
"""

from __future__ import annotations

TICKS_PER_BEAT = 12

PAD, BOS, EOS, BAR = 0, 1, 2, 3

# Meters as (numerator, denominator); the index is the token offset. Append only.
METERS = [(4, 4), (3, 4), (2, 4), (6, 8), (2, 2), (3, 8), (9, 8), (12, 8), (5, 4), (3, 2)]
METER_BASE = 4

MAX_BAR_TICKS = 96  # eight quarter notes
POS_BASE = METER_BASE + len(METERS)

PITCH_LOW, PITCH_HIGH = 21, 108  # piano range, inclusive
PITCH_BASE = POS_BASE + MAX_BAR_TICKS

MAX_DUR_TICKS = 96
DUR_BASE = PITCH_BASE + (PITCH_HIGH - PITCH_LOW + 1)

VOCAB_SIZE_V1 = DUR_BASE + MAX_DUR_TICKS

# Grammar v2, appended after v1's last id.
HEARD_BASE = VOCAB_SIZE_V1
OWN = HEARD_BASE + (PITCH_HIGH - PITCH_LOW + 1)
PHRASE_BASE = OWN + 1
PHRASE_BARS = 4  # PHRASE(0..3)
VOCAB_SIZE = PHRASE_BASE + PHRASE_BARS

# What a token of a v2 sequence is, for the loss weights: Descant's own, heard, or phrase marks.
ROLE_OWN, ROLE_HEARD, ROLE_PHRASE = 0, 1, 2


def vocab_layout() -> dict:
    """The vocabulary layout as the sidecar states it (checked by the Rust contract)."""
    return {
        "pad": PAD, "bos": BOS, "eos": EOS, "bar": BAR,
        "meter_base": METER_BASE, "meters": [list(m) for m in METERS],
        "pos_base": POS_BASE, "max_bar_ticks": MAX_BAR_TICKS,
        "pitch_base": PITCH_BASE, "pitch_low": PITCH_LOW, "pitch_high": PITCH_HIGH,
        "dur_base": DUR_BASE, "max_dur_ticks": MAX_DUR_TICKS,
        "heard_base": HEARD_BASE, "own": OWN, "phrase_base": PHRASE_BASE, "phrase_bars": PHRASE_BARS,
    }


def vocab_layout_v1() -> dict:
    """The v1 layout (a v1 sidecar states exactly this)."""
    v = vocab_layout()
    for k in ("heard_base", "own", "phrase_base", "phrase_bars"):
        del v[k]
    return v


def bar_ticks(meter: tuple[int, int]) -> int:
    """Length of one bar of `meter` in ticks."""
    num, den = meter
    return num * TICKS_PER_BEAT * 4 // den


def meter_token(meter: tuple[int, int]) -> int:
    return METER_BASE + METERS.index(tuple(meter))


def fold_pitch(key: int) -> int:
    """Moves a key into the vocabulary's range by whole octaves."""
    while key < PITCH_LOW:
        key += 12
    while key > PITCH_HIGH:
        key -= 12
    return key


def encode(notes, meter, n_bars=None):
    """Tokens for `notes`, a list of (onset_tick, duration_ticks, key) with bar 0 starting at tick 0.

    Onsets must be >= 0. Durations are clamped to 1..MAX_DUR_TICKS, keys folded into range.
    `n_bars` pads with empty bars up to that count (default: up to the last note's bar).
    """
    meter = tuple(meter)
    bar_len = bar_ticks(meter)
    ordered = sorted((int(o), int(d), int(k)) for o, d, k in notes)
    last_bar = max((o // bar_len for o, _, _ in ordered), default=0)
    total_bars = max(last_bar + 1, n_bars or 0)
    tokens = [BOS, meter_token(meter)]
    i = 0
    for bar in range(total_bars):
        tokens.append(BAR)
        while i < len(ordered) and ordered[i][0] // bar_len == bar:
            onset, dur, key = ordered[i]
            tokens.append(POS_BASE + onset - bar * bar_len)
            tokens.append(PITCH_BASE + fold_pitch(key) - PITCH_LOW)
            tokens.append(DUR_BASE + min(max(dur, 1), MAX_DUR_TICKS) - 1)
            i += 1
    return tokens


def _bar_of_end(end_tick: int, bar_len: int) -> int:
    """The bar a phrase ending at `end_tick` ends in (a note ending on a bar line ends the bar before)."""
    return (end_tick - 1) // bar_len


def encode2(own, heard, meter, n_bars=None, phrase_ends=None):
    """Grammar v2 tokens and their roles for `own` (Descant's line) against `heard`.

    Notes are (onset_tick, duration_ticks, key), bar 0 starting at tick 0, onsets >= 0; `own` is
    monophonic. `phrase_ends` (ticks), when given, puts PHRASE(k) after each BAR that is k < 4 bars
    before the bar a phrase ends in. Returns (tokens, roles), roles[i] being ROLE_* of tokens[i].
    """
    meter = tuple(meter)
    bar_len = bar_ticks(meter)
    mine = sorted((int(o), int(d), int(k)) for o, d, k in own)
    theirs = sorted((int(o), int(d), int(k)) for o, d, k in heard)
    last_bar = max((o // bar_len for o, _, _ in mine + theirs), default=0)
    total_bars = max(last_bar + 1, n_bars or 0)
    end_bars = sorted({_bar_of_end(e, bar_len) for e in phrase_ends}) if phrase_ends is not None else []
    tokens, roles = [BOS, meter_token(meter)], [ROLE_OWN, ROLE_OWN]
    i = j = e = 0

    def note(o, d, k, pitch_base, bar, role):
        tokens.extend([POS_BASE + o - bar * bar_len, pitch_base + fold_pitch(k) - PITCH_LOW,
                       DUR_BASE + min(max(d, 1), MAX_DUR_TICKS) - 1])
        roles.extend([role] * 3)

    for bar in range(total_bars):
        tokens.append(BAR)
        roles.append(ROLE_OWN)
        while e < len(end_bars) and end_bars[e] < bar:
            e += 1
        if e < len(end_bars) and end_bars[e] - bar < PHRASE_BARS:
            tokens.append(PHRASE_BASE + end_bars[e] - bar)
            roles.append(ROLE_PHRASE)
        while j < len(theirs) and theirs[j][0] // bar_len == bar:
            note(*theirs[j], HEARD_BASE, bar, ROLE_HEARD)
            j += 1
        tokens.append(OWN)
        roles.append(ROLE_HEARD)  # it closes the heard notes: whether more are heard is theirs
        while i < len(mine) and mine[i][0] // bar_len == bar:
            note(*mine[i], PITCH_BASE, bar, ROLE_OWN)
            i += 1
    return tokens, roles


def decode2(tokens):
    """(own notes, heard notes, last meter) of a v2 (or v1) token sequence; malformed runs skipped."""
    meter = METERS[0]
    bar = -1
    bar_start = 0
    pos = key = None
    heard_key = False
    own, heard = [], []
    for t in tokens:
        if t == BAR:
            if bar >= 0:
                bar_start += bar_ticks(meter)
            bar += 1
            pos = key = None
        elif METER_BASE <= t < POS_BASE:
            meter = METERS[t - METER_BASE]
        elif POS_BASE <= t < PITCH_BASE:
            pos, key = t - POS_BASE, None
        elif PITCH_BASE <= t < DUR_BASE or HEARD_BASE <= t < OWN:
            heard_key = t >= HEARD_BASE
            key = (t - (HEARD_BASE if heard_key else PITCH_BASE) + PITCH_LOW) if pos is not None else None
        elif DUR_BASE <= t < VOCAB_SIZE_V1:
            if pos is not None and key is not None and bar >= 0:
                (heard if heard_key else own).append((bar_start + pos, t - DUR_BASE + 1, key))
            pos = key = None
        else:
            pos = key = None
    return own, heard, meter


def decode(tokens):
    """Notes (onset_tick, duration_ticks, key) and the last meter from a token sequence (v1, or
    Descant's own notes of a v2 one).

    Malformed runs (a PITCH without POS, a DUR without PITCH) are skipped, as the Rust side does.
    """
    own, _, meter = decode2(tokens)
    return own, meter
