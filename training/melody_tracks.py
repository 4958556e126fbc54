"""Writes the twelve hand-written melodies of `host/src/melodies.rs` as standard MIDI files, each
played twice with two bars of rest between (as `descant duet` plays them), at 100 BPM in its own
meter: tracks for `descant render`. The release check renders all twelve in each mode with a
fixed seed and compares the files byte for byte between two builds (docs/MEASUREMENTS.md,
"Renders before and after a refactor").

    python3 training/melody_tracks.py OUT_DIR
"""

import math
import re
import struct
import sys
from pathlib import Path

MELODIES_RS = Path(__file__).resolve().parent.parent / "host" / "src" / "melodies.rs"
TICKS_PER_QUARTER = 480
TEMPO_US_PER_QUARTER = 600_000  # 100 BPM, as host/src/melodies.rs's TEMPO
NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_of(name: str) -> int:
    m = re.fullmatch(r"([A-G])([#b]?)(-?\d)", name)
    if not m:
        raise ValueError(f"not a key: {name}")
    shift = {"#": 1, "b": -1, "": 0}[m.group(2)]
    return 12 * (int(m.group(3)) + 1) + NAMES[m.group(1)] + shift


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def melodies(source: str):
    """(name, numerator, denominator, notes) of each melody in the Rust source."""
    pattern = r'name: "([^"]+)",\s*meter: \((\d+), (\d+)\),.*?notes: "(.*?)",\n'
    for name, num, den, notes in re.findall(pattern, source, re.S):
        yield name, int(num), int(den), notes.replace("\\\n", " ").replace("\\", " ")


def track(num: int, den: int, notes: str) -> bytes:
    at, seq = 0.0, []
    for word in (w for w in notes.split() if w != "|"):
        pitch, beats = word.split("/")
        if pitch != "r":
            seq.append((at, float(beats), key_of(pitch)))
        at += float(beats)
    bar = num * 4 / den
    again = math.ceil(at / bar) * bar + 2 * bar
    events = []
    for onset, length, key in seq + [(o + again, l, k) for o, l, k in seq]:
        events.append((round(onset * TICKS_PER_QUARTER), 1, key))
        events.append((round((onset + length) * TICKS_PER_QUARTER), 0, key))
    events.sort(key=lambda e: (e[0], e[1]))
    data = bytearray()
    data += vlq(0) + bytes([0xFF, 0x51, 3]) + TEMPO_US_PER_QUARTER.to_bytes(3, "big")
    data += vlq(0) + bytes([0xFF, 0x58, 4, num, {2: 1, 4: 2, 8: 3}[den], 24, 8])
    now = 0
    for tick, on, key in events:
        data += vlq(tick - now) + bytes([0x90 if on else 0x80, key, 90 if on else 0])
        now = tick
    data += vlq(0) + bytes([0xFF, 0x2F, 0])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(data)) + bytes(data)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/melody-tracks")
    out.mkdir(parents=True, exist_ok=True)
    found = list(melodies(MELODIES_RS.read_text()))
    if len(found) != 12:
        sys.exit(f"expected twelve melodies in {MELODIES_RS}, found {len(found)}")
    for i, (name, num, den, notes) in enumerate(found):
        (out / f"{i:02d}.mid").write_bytes(track(num, den, notes))
        print(f"{i:02d}.mid  {name} ({num}/{den})")


if __name__ == "__main__":
    main()
