"""The training corpus as the model sees it: the cached tunes, the control vector of a tune, the
voice pairs of the polyphonic pieces, and token windows in the two-voice grammar (v2). Torch-free,
so evaluation and the model card use it without installing torch; `train.py` trains on it.

Single lines are every folk tune, every renaissance voice and the chorales' soprano: Descant sings
them with nothing heard (`BAR OWN notes`). Voice pairs are drawn from the pieces with several voices
(the chorales, every voice against every other, and the renaissance pieces): one voice is Descant's
own, one or more of the others are heard. A part that doubles the own voice (an instrument playing
the soprano along, say) is never heard against it: that would teach unisons.
"""

from __future__ import annotations

import gzip
import json
import math
import pathlib
import random

import numpy as np

import descant_tokens as tok
from extract import STYLES, in_data, piece_of

# "voice": +1 when Descant's line lies above what it hears, -1 below, 0 either (or nothing heard).
ATTRIBUTES = ["density", "register", "mode", "voice"]
CONTROL_SIZE = len(STYLES) + len(ATTRIBUTES)
# A part doubles another when at least this share of its notes start together on the same key.
DOUBLING = 0.5
# Loss weight of phrase marks (the heard tokens' weight is a training option).
PHRASE_WEIGHT = 0.5


def loss_weights(roles, heard_weight):
    """The loss weight of each token by its role: Descant's own 1, heard `heard_weight` (the
    model learns to expect the player; 0 masks them out), phrase marks PHRASE_WEIGHT."""
    roles = np.asarray(roles)
    return np.where(roles == tok.ROLE_OWN, 1.0,
                    np.where(roles == tok.ROLE_HEARD, heard_weight, PHRASE_WEIGHT)).astype(np.float32)


def load_tunes(cache: pathlib.Path):
    """The cached lines of this run's data (`extract.DATA`): every line, or the open sources'.
    The splits are the whole extraction's, so a held-out line stays held out in both."""
    with gzip.open(cache / "tunes.jsonl.gz", "rt") as f:
        return [t for t in map(json.loads, f) if in_data(t)]


class Corpus:
    """Tunes of one split, with the attribute normalisation of the training split."""

    def __init__(self, tunes, norms):
        self.tunes = tunes
        self.norms = norms
        # What Descant sings alone: the chorales' soprano, every other line.
        self.singles = [t for t in tunes if t["style"] != "chorale" or t.get("voice", 0) == 0]
        self.pieces = pieces_of(tunes)

    @staticmethod
    def norms_of(tunes):
        dens = np.log([t["density"] for t in tunes])
        reg = np.array([t["register"] for t in tunes])
        return {"log_density_mean": float(dens.mean()), "log_density_std": float(dens.std()),
                "register_mean": float(reg.mean()), "register_std": float(reg.std())}

    def control(self, t, shift=0, drop=0.0, rng=random, voice=0.0):
        c = np.zeros(CONTROL_SIZE, np.float32)
        if rng.random() >= drop:
            c[STYLES.index(t["style"])] = 1.0
        n = self.norms
        if rng.random() >= drop:
            c[len(STYLES)] = (math.log(t["density"]) - n["log_density_mean"]) / n["log_density_std"]
        if rng.random() >= drop:
            c[len(STYLES) + 1] = (t["register"] + shift - n["register_mean"]) / n["register_std"]
        if rng.random() >= drop:
            c[len(STYLES) + 2] = 1.0 if t["mode"] == "major" else -1.0
        if rng.random() >= drop:
            c[len(STYLES) + 3] = voice
        return c

    def window(self, t, max_len, shift=0, start_bar=None, rng=random):
        meter = tuple(t["meter"])
        bar_len = tok.bar_ticks(meter)
        notes = t["notes"]
        last_bar = notes[-1][0] // bar_len
        b = rng.randint(0, max(0, last_bar - 1)) if start_bar is None else start_bar
        origin = b * bar_len
        shifted = [(o - origin, d, k + shift) for o, d, k in notes if o >= origin]
        return tok.encode(shifted, meter)[:max_len]

    def window2(self, own, heard, max_len, shift=0, start_bar=None, rng=random, phrases=True):
        """v2 (tokens, roles) of `own` against the lines `heard` (same piece), from a bar line.

        A heard note that sounds across the window's first bar line enters at tick 0 with what is
        left of it, as the engine feeds a held note. Returns (tokens, roles, voice), voice being
        +1 / -1 when the own window's mean key lies above / below the heard one's, 0 with nothing heard.
        """
        meter = tuple(own["meter"])
        bar_len = tok.bar_ticks(meter)
        notes = own["notes"]
        last_bar = notes[-1][0] // bar_len
        b = rng.randint(0, max(0, last_bar - 1)) if start_bar is None else start_bar
        origin = b * bar_len
        mine = [(o - origin, d, k + shift) for o, d, k in notes if o >= origin]
        theirs = [(max(o, origin) - origin, o + d - max(o, origin), k + shift)
                  for h in heard for o, d, k in h["notes"] if o + d > origin]
        ends = None
        if phrases:
            line_end = notes[-1][0] + notes[-1][1]
            ends = [e - origin for e in own.get("phrase_ends", []) + [line_end] if e > origin]
        tokens, roles = tok.encode2(mine, theirs, meter, None, ends)
        voice = 0.0
        if theirs and mine:
            # Over the part of the window that fits the context (roughly: the first bars).
            horizon = mine[min(len(mine), 24) - 1][0] + 1
            a = np.mean([k for o, _, k in mine if o < horizon])
            h = [k for o, _, k in theirs if o < horizon]
            voice = float(np.sign(a - np.mean(h))) if h else 0.0
        return tokens[:max_len], roles[:max_len], voice


def call_and_answer(singles, rng=random):
    """A tune heard as its own call: (own, heard, start bar). What Descant hears is the tune up to
    a phrase end (or a bar line 2 to 4 bars in, when no phrase ends there), and its own line is the
    rest of the tune, the tune's real consequent. For data without voice pairs (the open sources
    have none): the model still learns what heard notes are, as Answer mode feeds them (the
    player's call, then Descant's line with nothing heard). None if the tune is too short."""
    t = rng.choice(singles)
    meter = tuple(t["meter"])
    bar_len = tok.bar_ticks(meter)
    notes = t["notes"]
    first_bar = notes[0][0] // bar_len
    ends = [e for e in t.get("phrase_ends", []) if (first_bar + 2) * bar_len <= e <= (first_bar + 8) * bar_len]
    split = rng.choice(ends) if ends else (first_bar + rng.randint(2, 4)) * bar_len
    call = [n for n in notes if n[0] < split]
    answer = [n for n in notes if n[0] >= split]
    if len(call) < 4 or len(answer) < 4:
        return None
    start_bar = max(0, split // bar_len - rng.randint(1, 4))
    own = {**t, "notes": answer, "phrase_ends": [e for e in t.get("phrase_ends", []) if e > split]}
    heard = {**t, "notes": call}
    return own, [heard], start_bar


def doubles(a, b) -> bool:
    """Whether line `a` mostly doubles line `b` (same key at the same onset)."""
    starts = {(o, k) for o, _, k in b["notes"]}
    same = sum((o, k) in starts for o, _, k in a["notes"])
    return same >= DOUBLING * len(a["notes"])


def pieces_of(tunes):
    """Voices of each piece with at least two voices in one meter, as lists of tunes."""
    by_piece = {}
    for t in tunes:
        if t.get("voices", 1) >= 2:
            by_piece.setdefault(piece_of(t["id"]), []).append(t)
    pieces = []
    for voices in by_piece.values():
        voices = [v for v in voices if v["meter"] == voices[0]["meter"]]
        if len(voices) >= 2:
            pieces.append(voices)
    return pieces


def pick_pair(pieces, rng=random):
    """One own voice and what it hears: one other voice (60 %), all others (20 %) or a random
    subset of them (20 %), never a part that doubles the own voice. None if the piece has none."""
    voices = rng.choice(pieces)
    own = rng.choice(voices)
    others = [v for v in voices if v is not own and not doubles(v, own) and not doubles(own, v)]
    if not others:
        return None
    r = rng.random()
    if r < 0.6 or len(others) == 1:
        heard = [rng.choice(others)]
    elif r < 0.8:
        heard = others
    else:
        heard = rng.sample(others, rng.randint(1, len(others)))
    return own, heard
