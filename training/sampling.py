"""Nucleus sampling as the plugin's sampler does it (temperature, then the smallest set of tokens
whose probability reaches top-p): the one Python copy, used by evaluation and the speed bench.
"""

from __future__ import annotations

import numpy as np


def sample(logits, allowed, rng, temperature=1.0, top_p=0.95):
    """A token among those `allowed` (a boolean mask over the vocabulary) says yes to."""
    idx = np.flatnonzero(allowed)
    z = logits[idx].astype(np.float64) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p)) + 1]
    q = p[keep] / p[keep].sum()
    return int(idx[keep[rng.choice(len(keep), p=q)]])
