"""The training corpus as the model sees it: the cached tunes, the control vector of a tune and
token windows. Torch-free, so evaluation and the model card use it without installing torch;
`train.py` trains on it.
"""

from __future__ import annotations

import gzip
import json
import math
import pathlib
import random

import numpy as np

import descant_tokens as tok
from extract import STYLES

ATTRIBUTES = ["density", "register", "mode"]
CONTROL_SIZE = len(STYLES) + len(ATTRIBUTES)


def load_tunes(cache: pathlib.Path):
    with gzip.open(cache / "tunes.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


class Corpus:
    """Tunes of one split, with the attribute normalisation of the training split."""

    def __init__(self, tunes, norms):
        self.tunes = tunes
        self.norms = norms

    @staticmethod
    def norms_of(tunes):
        dens = np.log([t["density"] for t in tunes])
        reg = np.array([t["register"] for t in tunes])
        return {"log_density_mean": float(dens.mean()), "log_density_std": float(dens.std()),
                "register_mean": float(reg.mean()), "register_std": float(reg.std())}

    def control(self, t, shift=0, drop=0.0, rng=random):
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
