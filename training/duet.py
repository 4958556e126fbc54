"""How two voices sound together: the Python twin of `host/src/duet.rs` (same definitions, see
docs/MODEL.md), for the evaluation of voice pairs in `evaluate.py`. The golden file
`golden/duet_cases.json` holds cases whose figures both sides must reproduce exactly.

Notes are (beat, length, key) in quarter-note beats. A scale is (tonic pitch class, mode) with
mode "major", "minor" or "dorian".
"""

from __future__ import annotations

CONSONANT = {0, 3, 4, 5, 7, 8, 9}
STRICT = {0, 3, 4, 7, 8, 9}
ON_BEAT = 1.0 / 16.0
SLACK = 1.0 / 1000.0  # a note starting or ending this close after a moment counts as at it (render rounding)
DEGREES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10)}
FIELDS = ["on_beat", "consonant", "strict", "random_consonant", "random_strict", "duet_beats", "moves",
          "parallel", "similar", "contrary", "oblique", "parallel_perfect", "crossings", "notes", "in_key",
          "on_grid", "repeats", "player_notes"]


def in_scale(key, scale):
    tonic, mode = scale
    degree = (key - tonic) % 12
    return degree in DEGREES[mode] or (mode == "minor" and degree == 11)


def interval_class(a, b):
    """The interval class of two keys from the lower up: a 4th is 5 and a 5th 7 whichever is higher."""
    return (max(a, b) - min(a, b)) % 12


def placed(pc, near):
    """The key with pitch class `pc` nearest `near` (5 below to 6 above): a random note in the line's place."""
    up = (pc - near) % 12
    return min(max(near + (up - 12 if up > 6 else up), 0), 127)


def sounding(notes, t):
    keys = [k for b, length, k in notes if b <= t + SLACK and b + length > t + SLACK]
    return max(keys) if keys else None


def bucket(ic):
    return {1: 1, 2: 1, 3: 3, 4: 3, 8: 8, 9: 8, 10: 10, 11: 10}.get(ic, ic)


def measure(player, descant, scale, beat=1.0, span=(0.0, float("inf"))):
    """The figures of `descant` against `player` (notes starting in `span`), as a dict of counts."""
    lo, hi = span
    s = dict.fromkeys(FIELDS, 0)
    s["random_consonant"] = s["random_strict"] = 0.0
    inside = [n for n in descant if lo - 1e-9 <= n[0] < hi - 1e-9]
    s["player_notes"] = sum(lo - 1e-9 <= n[0] < hi - 1e-9 for n in player)
    pcs = [(d + scale[0]) % 12 for d in DEGREES[scale[1]]]
    previous = None
    keys = []
    for b, _, k in inside:
        s["notes"] += 1
        s["in_key"] += in_scale(k, scale)
        keys.append(k)
        s["repeats"] += previous == k
        previous = k
        ticks = b * 12.0
        s["on_grid"] += abs(ticks / 3 - round(ticks / 3)) < 0.05 or abs(ticks / 4 - round(ticks / 4)) < 0.05
        nearest = round(b / beat) * beat
        if abs(b - nearest) > ON_BEAT:
            continue
        p = sounding(player, nearest)
        if p is None:
            continue
        s["on_beat"] += 1
        ic = interval_class(k, p)
        s["consonant"] += ic in CONSONANT
        s["strict"] += ic in STRICT
        s["random_consonant"] += sum(interval_class(placed(pc, k), p) in CONSONANT for pc in pcs) / len(pcs)
        s["random_strict"] += sum(interval_class(placed(pc, k), p) in STRICT for pc in pcs) / len(pcs)
    s["range"] = [min(keys), max(keys)] if keys else [0, 0]
    if hi == float("inf"):
        hi = max((n[0] + n[1] for n in list(player) + list(descant)), default=lo)
    import math

    prev = None
    for i in range(math.ceil(lo / beat), math.floor(hi / beat)):
        t = i * beat
        p, d = sounding(player, t), sounding(descant, t)
        if p is None or d is None:
            prev = None
            continue
        s["duet_beats"] += 1
        if prev is not None:
            p0, d0 = prev
            dp, dd = p - p0, d - d0
            if dp or dd:
                s["moves"] += 1
                if dp == 0 or dd == 0:
                    s["oblique"] += 1
                elif (dp > 0) != (dd > 0):
                    s["contrary"] += 1
                elif bucket(interval_class(d, p)) == bucket(interval_class(d0, p0)):
                    s["parallel"] += 1
                    s["parallel_perfect"] += interval_class(d, p) in (0, 7)
                else:
                    s["similar"] += 1
                a, z = (d0 > p0) - (d0 < p0), (d > p) - (d < p)
                s["crossings"] += a != 0 and z != 0 and a != z
        prev = (p, d)
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in s.items()}


def add(total, s):
    for k in FIELDS:
        total[k] = total.get(k, 0) + s[k]
    return total


def shares(s):
    """The percentages a table shows."""
    pct = lambda c, of: 100.0 * c / of if of else 0.0  # noqa: E731
    return {
        "consonant": pct(s["consonant"], s["on_beat"]), "strict": pct(s["strict"], s["on_beat"]),
        "random_consonant": pct(s["random_consonant"], s["on_beat"]),
        "random_strict": pct(s["random_strict"], s["on_beat"]),
        "parallel_perfect_per_100_beats": pct(s["parallel_perfect"], s["duet_beats"]),
        "parallel": pct(s["parallel"], s["moves"]), "similar": pct(s["similar"], s["moves"]),
        "contrary": pct(s["contrary"], s["moves"]), "oblique": pct(s["oblique"], s["moves"]),
        "crossings_per_100_beats": pct(s["crossings"], s["duet_beats"]),
        "in_key": pct(s["in_key"], s["notes"]), "on_beat_notes": s["on_beat"],
    }


def regenerate(path):
    """Recomputes every case's `expected` in the golden file at `path` with this module's measure
    (run after a change of definition; the Rust twin must then give the same figures)."""
    import json

    cases = json.loads(open(path).read())
    for case in cases["cases"]:
        span = (case["span"][0], case["span"][1])
        e = measure([tuple(n) for n in case["player"]], [tuple(n) for n in case["descant"]],
                    tuple(case["scale"]), case["beat"], span)
        case["expected"] = e
    with open(path, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    import pathlib

    regenerate(pathlib.Path(__file__).parent / "golden" / "duet_cases.json")
