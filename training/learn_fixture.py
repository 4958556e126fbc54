"""Writes the learning fixture: a folder of short MIDI melodies with an unmistakable idiom,
E Phrygian in dotted rhythms, made here (never downloaded), for trying `descant learn` end to end.

    python3 training/learn_fixture.py DIR [--melodies 40] [--seed 1]

Each melody is four bars of 4/4 at 100 BPM: fourteen beats of a dotted eighth and a sixteenth
moving by step and third within E Phrygian (E F G A B C D), then the Phrygian close F -> E. No
dependencies beyond Python.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import struct

PHRYGIAN = [4, 5, 7, 9, 11, 0, 2]  # E F G A B C D
PPQ = 480


def key_of(degree: int) -> int:
    """MIDI key of scale degree `degree` (0 = E4)."""
    octave, step = divmod(degree, 7)
    base = 72 if step >= 5 else 60  # C and D sit above B
    return base + PHRYGIAN[step] + 12 * octave


def melody(rng: random.Random):
    """[(beat, length, key)] of one melody."""
    notes, degree = [], rng.randrange(0, 5)
    for beat in range(14):
        for offset, length in ((0.0, 0.75), (0.75, 0.25)):
            notes.append((beat + offset, length, key_of(degree)))
            degree = max(-2, min(8, degree + rng.choice([-1, 1, 1, -1, 2, -2])))
    notes += [(14.0, 1.0, 65), (15.0, 1.0, 64)]
    return notes


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def midi(notes) -> bytes:
    """A format-0 standard MIDI file: 4/4, 100 BPM, the notes on channel 1."""
    events = []
    for beat, length, key in notes:
        on = round(beat * PPQ)
        events.append((on, 1, bytes([0x90, key, 90])))
        events.append((on + round(length * PPQ) - 1, 0, bytes([0x80, key, 0])))
    events.sort()
    track = vlq(0) + b"\xff\x58\x04\x04\x02\x18\x08" + vlq(0) + b"\xff\x51\x03" + (600000).to_bytes(3, "big")
    now = 0
    for tick, _, data in events:
        track += vlq(tick - now) + data
        now = tick
    track += vlq(0) + b"\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ) + b"MTrk" + struct.pack(">I", len(track)) + track


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--melodies", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    args.dir.mkdir(parents=True, exist_ok=True)
    for i in range(args.melodies):
        (args.dir / f"phrygian-{i:02}.mid").write_bytes(midi(melody(rng)))
    print(f"wrote {args.melodies} E Phrygian melodies to {args.dir}")


if __name__ == "__main__":
    main()
