"""Builds the originality index shipped with the model: a Bloom filter of the *distinctive*
interval n-grams of the training split, so the plugin can tell when its line is about to copy a
training melody verbatim (and resample that note).

    python training/ngram_index.py [--cache training/cache] [--out assets/descant.ngrams]

An n-gram is N consecutive pitch intervals (N+1 notes; transposition does not matter). Distinctive
means found in at most MAX_TUNES training tunes: scale runs and arpeggios that hundreds of tunes
share are idiom, not copying, and stay allowed.

File format (little endian), read by inference/src/music/originality.rs:
    b"DSNG", u32 version = 1, u32 n, u32 hashes k, u64 bits m, then ceil(m / 8) bytes of bits
    (bit i is byte i // 8, bit i % 8).
Hashing: h1 = FNV-1a 64 over the intervals as signed bytes (clamped to -127..127),
h2 = splitmix64(h1) | 1; the j-th bit is (h1 + j * h2) mod m.
"""

from __future__ import annotations

import argparse
import collections
import math
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
N = 7
MAX_TUNES = 2
FALSE_POSITIVE = 0.01
MASK = (1 << 64) - 1


def fnv1a(intervals) -> int:
    h = 0xCBF29CE484222325
    for i in intervals:
        h ^= max(-127, min(127, int(i))) & 0xFF
        h = (h * 0x100000001B3) & MASK
    return h


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def bit_positions(intervals, k: int, m: int) -> list[int]:
    h1 = fnv1a(intervals)
    h2 = splitmix64(h1) | 1
    return [((h1 + j * h2) & MASK) % m for j in range(k)]


def intervals_of(notes):
    keys = [k for _, _, k in notes]
    return [b - a for a, b in zip(keys, keys[1:])]


def distinctive_ngrams(tunes, n=N, max_tunes=MAX_TUNES):
    count = collections.Counter()
    for t in tunes:
        iv = intervals_of(t["notes"])
        count.update({tuple(iv[i : i + n]) for i in range(len(iv) - n + 1)})
    return [g for g, c in count.items() if c <= max_tunes]


def build(grams, n=N, fp=FALSE_POSITIVE) -> bytes:
    count = max(1, len(grams))
    m = max(64, math.ceil(-count * math.log(fp) / math.log(2) ** 2))
    k = max(1, round(m / count * math.log(2)))
    bits = bytearray((m + 7) // 8)
    for g in grams:
        for b in bit_positions(g, k, m):
            bits[b >> 3] |= 1 << (b & 7)
    return b"DSNG" + struct.pack("<IIIQ", 1, n, k, m) + bytes(bits)


def contains(index: bytes, intervals) -> bool:
    version, n, k, m = struct.unpack_from("<IIIQ", index, 4)
    bits = index[24:]
    return all(bits[b >> 3] >> (b & 7) & 1 for b in bit_positions(intervals, k, m))


def main():
    import extract  # the cache reader lives there; imported late so tests need no music21

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--out", default=str(HERE.parent / "assets" / f"{extract.STEM}.ngrams"))
    args = ap.parse_args()
    tunes = [t for t in extract.read(pathlib.Path(args.cache) / "tunes.jsonl.gz")
             if t["split"] == "train" and extract.in_data(t)]
    grams = distinctive_ngrams(tunes)
    data = build(grams)
    pathlib.Path(args.out).write_bytes(data)
    print(f"wrote {args.out}: {len(grams)} distinctive {N}-interval n-grams (in <= {MAX_TUNES} training tunes), "
          f"{len(data) / 1e6:.2f} MB, false positives ~{FALSE_POSITIVE:.0%}")


if __name__ == "__main__":
    main()
