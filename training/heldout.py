"""Writes the held-out benchmark's pieces: music no model, weight or threshold of Descant was fitted
on, for `descant heldout` to play through the built plugin (see docs/MEASUREMENTS.md, "Held-out
benchmark").

    python training/heldout.py [--cache training/cache] [--split test] [--out FILE]

From the extraction cache (`extract.py`) it takes the pieces of one split (`test` for the
benchmark's evidence, `val` for development: a change is tried on `val` and reported on `test`):

- folk tunes (Irish & Scottish, European, Chinese) in every meter the grammar has, up to
  `--per-meter` per style and meter, the first `BARS` bars (a pickup kept);
- Bach chorales: the soprano is the melody, the alto, tenor and bass the chord channel; the alto is
  the corpus's own counter-voice (the reference);
- Renaissance pairs: the highest voice is the melody, the voice below it the reference.

Every folk tune also gets chords written for it by `harmonize` (the corpus has no chord symbols):
one diatonic triad per half bar (per bar in short bars), the one whose tones cover most of the
melody there, weighed by length and the beat; close to the bass clef's middle, as a player's left
hand. So each folk tune is measured twice: melody only, and melody with chords.

The file is plain text, one record per line, ticks at 12 per quarter note:
    piece ID STYLE SOURCE N/D TEMPO TONIC MODE CALL_END
    melody ONSET DUR KEY ONSET DUR KEY ...
    chords ...          (optional: the chord channel)
    voice ...           (optional: the corpus's own counter-voice)
TEMPO is in quarter notes per minute, TONIC a pitch class, CALL_END the tick where the tune's
first phrase ends (Answer mode's call, as `phrases.py` finds it). Deterministic: the same cache gives
the same file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import random

from extract import piece_of
from phrases import call_and_consequent

TICKS = 12
# Bars of each excerpt (at most `MAX_BEATS` quarter notes of it).
BARS = 8
MAX_BEATS = 32
# Quarter notes per minute by style and meter: what players of the style take (dance tunes fast,
# a reel in cut time at 100 half notes, a jig at 110 dotted quarters; songs slower).
TEMPI = {
    "irish-scottish": {(2, 2): 200, (4, 4): 180, (2, 4): 140, (3, 4): 140, (6, 8): 165,
                       (9, 8): 165, (12, 8): 165, (3, 8): 150, (3, 2): 160},
    "folk-european": {(6, 8): 110, (3, 8): 120, (9, 8): 110, (12, 8): 110},
    "folk-chinese": {},
    "chorale": {},
    "renaissance": {},
}
DEFAULT_TEMPO = {"irish-scottish": 160, "folk-european": 110, "folk-chinese": 90, "chorale": 80,
                 "renaissance": 110}
MAJOR_TRIADS = [(0, (0, 4, 7)), (2, (0, 3, 7)), (5, (0, 4, 7)), (7, (0, 4, 7)), (9, (0, 3, 7))]
MINOR_TRIADS = [(0, (0, 3, 7)), (5, (0, 3, 7)), (7, (0, 4, 7)), (3, (0, 4, 7)), (8, (0, 4, 7)),
                (10, (0, 4, 7))]
# A small preference for the tonic, dominant and subdominant chords, and for keeping the chord.
PRIOR = {0: 0.3, 7: 0.2, 5: 0.1}
KEEP = 0.2


def bar_ticks(meter):
    return meter[0] * TICKS * 4 // meter[1]


def pulse_ticks(meter):
    """The beat a player feels: a dotted quarter in compound meters, else the denominator's note."""
    n, d = meter
    if d == 8 and n % 3 == 0:
        return 3 * TICKS // 2
    return TICKS * 4 // d


def segment_ticks(meter):
    """How long one written chord lasts: half a bar in bars of 4, 6 or 12 beats, else a bar."""
    bar = bar_ticks(meter)
    return bar // 2 if meter[0] in (4, 6, 12) or meter == (2, 2) else bar


def excerpt(notes, meter):
    bar = bar_ticks(meter)
    bars = max(2, min(BARS, (MAX_BEATS * TICKS) // bar))
    end = bars * bar
    out = [[o, min(d, end - o), k] for o, d, k in notes if o < end]
    return out, end


def harmonize(melody, meter, tonic, mode, end):
    """Chords for `melody` (see the module doc): notes `[onset, dur, key]` on the chord channel."""
    seg = segment_ticks(meter)
    pulse = pulse_ticks(meter)
    triads = MINOR_TRIADS if mode == "minor" else MAJOR_TRIADS
    chords = []
    previous = None
    starts = list(range(0, end, seg))
    for i, s in enumerate(starts):
        e = min(s + seg, end)
        best = None
        for root, shape in triads:
            pcs = {(tonic + root + x) % 12 for x in shape}
            score = PRIOR.get(root, 0.0) + (KEEP if root == previous else 0.0)
            for o, d, k in melody:
                overlap = min(o + d, e) - max(o, s)
                if overlap <= 0:
                    continue
                weight = overlap / TICKS * (2.0 if o >= s and (o - s) % pulse == 0 else 1.0)
                score += weight if k % 12 in pcs else -0.5 * weight
            if i == len(starts) - 1 and root == 0:
                score += 2.0
            if best is None or score > best[0]:
                best = (score, root, shape)
        _, root, shape = best
        previous = root
        # Root position from the octave below middle C (48..59), the third and fifth above it.
        bass = 48 + (tonic + root) % 12
        for x in shape:
            chords.append([s, e - s, bass + x])
    return chords


def line(tag, notes):
    return tag + " " + " ".join(f"{o} {d} {k}" for o, d, k in sorted(notes))


def record(t, style, melody, chords, voice, end):
    meter = tuple(t["meter"])
    tempo = TEMPI.get(style, {}).get(meter, DEFAULT_TEMPO[style])
    _, _, cut, _ = call_and_consequent({**t, "notes": melody})
    out = [f"piece {t['id'].replace(' ', '_')} {style} {t['source']} {meter[0]}/{meter[1]} {tempo} {t['tonic']} "
           f"{t['mode']} {min(cut, end)}",
           line("melody", melody)]
    if chords:
        out.append(line("chords", chords))
    if voice:
        out.append(line("voice", voice))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(pathlib.Path(__file__).parent / "cache"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--per-meter", type=int, default=30)
    ap.add_argument("--out", default="tests/fixtures/heldout.txt")
    args = ap.parse_args()
    with gzip.open(pathlib.Path(args.cache) / "tunes.jsonl.gz", "rt") as f:
        tunes = [json.loads(line) for line in f]
    tunes = [t for t in tunes if t["split"] == args.split]
    rng = random.Random(35)
    lines = [f"# Descant held-out benchmark: the {args.split} split, written by training/heldout.py"]
    counts = {}

    folk = [t for t in tunes if t["style"] in ("irish-scottish", "folk-european", "folk-chinese")
            and len(t["notes"]) >= 16]
    by = {}
    for t in folk:
        by.setdefault((t["style"], tuple(t["meter"])), []).append(t)
    for (style, meter), group in sorted(by.items()):
        rng.shuffle(group)
        for t in group[: args.per_meter]:
            melody, end = excerpt(t["notes"], meter)
            if len(melody) < 8:
                continue
            chords = harmonize(melody, meter, t["tonic"], t["mode"], end)
            lines += record(t, style, melody, chords, None, end)
            counts[(style, meter)] = counts.get((style, meter), 0) + 1

    pieces = {}
    for t in tunes:
        if t["style"] in ("chorale", "renaissance") and t.get("voices", 1) >= 2:
            pieces.setdefault(piece_of(t["id"]), []).append(t)
    for pid, voices in sorted(pieces.items()):
        voices = [v for v in voices if v["meter"] == voices[0]["meter"] and len(v["notes"]) >= 8]
        if len(voices) < 2:
            continue
        style = voices[0]["style"]
        meter = tuple(voices[0]["meter"])
        # The melody: the highest voice (by mean key); the reference: the next below it.
        voices.sort(key=lambda v: -sum(k for *_, k in v["notes"]) / len(v["notes"]))
        top, below = voices[0], voices[1]
        melody, end = excerpt(top["notes"], meter)
        ref, _ = excerpt(below["notes"], meter)
        if len(melody) < 8 or len(ref) < 4:
            continue  # a voice that rests through the excerpt's bars: no duet to measure
        chords = []
        if style == "chorale":
            for v in voices[1:]:
                chords += excerpt(v["notes"], meter)[0]
        lines += record(top, style, melody, chords, ref, end)
        counts[(style, meter)] = counts.get((style, meter), 0) + 1

    pathlib.Path(args.out).write_text("\n".join(lines) + "\n")
    total = sum(counts.values())
    print(f"wrote {args.out}: {total} pieces")
    for (style, meter), n in sorted(counts.items()):
        print(f"  {style:<15} {meter[0]}/{meter[1]:<3} {n}")


if __name__ == "__main__":
    main()
