"""Extracts monophonic melody lines from the corpus inside the `music21` package, with style labels
and per-tune attributes, into a cache (deterministic; parsing takes minutes, so it runs once).

    python training/extract.py [--cache training/cache] [--jobs 2] [--limit N]

Output: `cache/tunes.jsonl`, one JSON object per line:
    {"id", "source", "style", "split", "meter": [n, d], "notes": [[onset, dur, key], ...],
     "density", "register", "mode", "tonic", "voice", "voices", "phrase_ends": [tick, ...]}
Onsets and durations are in ticks (descant_tokens.TICKS_PER_BEAT per quarter note), bar 0 starting
at tick 0 (a pickup is shifted to the end of bar 0). The split (train/val/test, 90/5/5) is a hash of
a *group* id, so held-out tunes have no near-copy in training: the voices of one piece form a group
(a Palestrina voice imitates its siblings), and so do lines whose first 16 notes have the same
intervals and rhythm in any key (the folk collections hold many variants of one tune). The group id
is its smallest tune id, so the split only changes where a new tune joins a group.

Sources and styles (see assets/MODEL_CARD.md for licences):
    Essen (essenFolksong): han* -> folk-chinese, irl -> irish-scottish, the rest -> folk-european
    O'Neill's 1850, Ryan's Mammoth, Aird's Airs, misc folk -> irish-scottish
    Bach chorales -> chorale (every voice; the soprano alone is the single-line "chorale" style, all
        four are the voice pairs of the two-voice grammar)
    Palestrina, Trecento, Monteverdi -> renaissance (every voice)
`voice` is the part's index in its score and `voices` how many parts the score has, so `corpus.py`
can pair the voices of one piece (they share the piece's time axis: same pickup shift).
`phrase_ends` are the ticks where a phrase ends inside the line: the end of a note under a fermata
(the chorales' phrase ends) and the end of a bar that closes with a double, final or repeat bar
line (section ends in the ABC collections). The end of the line itself is not listed (it is always
one). The Essen files as music21 ships them keep no phrase marks, so Essen phrases are only these.
ABC is parsed with ABC 2.1 semantics (accidentals carry through the bar), as the Essen files assume.
Breve bars (4/2, 2/1) become pairs of 2/2 bars; other meters the vocabulary lacks are skipped, and a
line is cut at its first change of meter.

`--only palestrina` re-extracts one folder into the existing cache (the rest is kept);
`--resplit` only recomputes the splits of the existing cache.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import os
import pathlib
import sys
import time
import warnings

import numpy as np

import descant_tokens as tok

ALL_STYLES = ["folk-european", "folk-chinese", "irish-scottish", "chorale", "renaissance"]
# The corpus folders whose terms allow a model trained on them, and what it plays, to be used in
# released music (docs/DATA.md says why, with sources): transcriptions of printed collections of
# 1778-1903 whose files carry no licence or restriction. Every other folder is non-commercial
# (Essen), "rights reserved" (Palestrina) or of unclear terms (the chorales, Monteverdi, Trecento).
OPEN_SOURCES = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
# Files of those folders left out all the same: their source editions are unknown (docs/DATA.md).
NOT_OPEN_FILES = ("miscFolk/americanfifeopus.abc",)
# Which data a training run uses: "all" (the non-commercial model, `descant.onnx`) or "open"
# (`descant-open.onnx`), from the environment so that every script of one run agrees
# (`cargo xtask train --data open` sets it). Extraction always reads every folder.
DATA = os.environ.get("DESCANT_DATA", "all")
if DATA not in ("all", "open"):
    sys.exit(f"DESCANT_DATA must be 'all' or 'open', not {DATA!r}")
# The file stem of the model a run writes into assets/.
STEM = "descant" if DATA == "all" else "descant-open"
# The styles of the model (its control vector's style slots, in this order).
STYLES = ALL_STYLES if DATA == "all" else ["irish-scottish"]


def in_data(tune) -> bool:
    """Whether a cached line belongs to this run's data (see DATA)."""
    return DATA == "all" or (tune["source"] in OPEN_SOURCES
                             and tune["id"].split("#")[0] not in NOT_OPEN_FILES)
MIN_NOTES = 8
# Meters the vocabulary lacks whose bars split evenly into one it has.
HALVED = {(4, 2): (2, 2), (2, 1): (2, 2), (8, 4): (4, 4)}
# Bar lines that close a section (music21's names); repeat bar lines count too.
SECTION_BARLINES = {"double", "final", "light-light", "light-heavy", "heavy-light", "heavy-heavy"}

# Krumhansl-Kessler key profiles (major, minor), tonic first; one file with the Rust side's
# (inference/src/music/key.rs checks its copy against it).
_PROFILES = json.loads((pathlib.Path(__file__).parent / "golden" / "key_profiles.json").read_text())
KK_MAJOR = np.array(_PROFILES["major"])
KK_MINOR = np.array(_PROFILES["minor"])


def split_of(tune_id: str) -> str:
    h = int(hashlib.sha1(tune_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if h < 5 else "val" if h < 10 else "train"


FINGERPRINT_NOTES = 16


def piece_of(tune_id: str) -> str:
    """The piece a line belongs to: its id without the voice suffix (`file#n/v` -> `file#n`)."""
    return tune_id.rsplit("/", 1)[0] if "#" in tune_id and "/" in tune_id.split("#", 1)[1] else tune_id


def fingerprint(notes) -> tuple:
    """Intervals, durations and inter-onsets of the first notes: equal for a tune in any key."""
    head = notes[: FINGERPRINT_NOTES + 1]
    return tuple((b[2] - a[2], a[1], b[0] - a[0]) for a, b in zip(head, head[1:]))


def assign_splits(tunes: list[dict]) -> int:
    """Sets every tune's split from its group (see the module doc); returns how many changed."""
    parent = {t["id"]: t["id"] for t in tunes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_of = {}
    for t in tunes:
        for k in (("piece", piece_of(t["id"])), ("melody", fingerprint(t["notes"]))):
            if k in first_of:
                union(first_of[k], t["id"])
            else:
                first_of[k] = t["id"]
    changed = 0
    for t in tunes:
        split = split_of(find(t["id"]))
        changed += t.get("split") != split
        t["split"] = split
    return changed


def key_of(notes) -> tuple[int, str]:
    """Tonic pitch class and mode by Krumhansl-Schmuckler on the duration-weighted histogram."""
    hist = np.zeros(12)
    for _, dur, key in notes:
        hist[key % 12] += dur
    best = (-2.0, 0, "major")
    for tonic in range(12):
        rolled = np.roll(hist, -tonic)
        for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            r = np.corrcoef(rolled, profile)[0, 1]
            if np.isfinite(r) and r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def style_of(rel: str) -> str | None:
    top, name = rel.split("/")[0], rel.split("/")[-1]
    if top == "essenFolksong":
        if name.startswith("test"):
            return None
        if name.startswith("han"):
            return "folk-chinese"
        if name.startswith("irl"):
            return "irish-scottish"
        return "folk-european"
    if top in ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk"):
        return "irish-scottish"
    if top == "bach":
        return "chorale"
    if top in ("palestrina", "trecento", "monteverdi"):
        return "renaissance"
    return None


def line_of(part):
    """(meter, notes) of one voice, or None if it cannot be a training line."""
    from music21 import meter as m21meter

    sigs = list(part.recurse().getElementsByClass(m21meter.TimeSignature))
    if not sigs:
        return None
    first = (sigs[0].numerator, sigs[0].denominator)
    # Renaissance breve bars (4/2, 2/1) are two 2/2 bars on the same grid.
    first = HALVED.get(first, first)
    if first not in tok.METERS:
        return None
    # Stop at the first change of meter (the vocabulary allows changes; this pipeline keeps one).
    cut = None
    for ts in sigs[1:]:
        if HALVED.get((ts.numerator, ts.denominator), (ts.numerator, ts.denominator)) != first:
            cut = ts.getOffsetInHierarchy(part)
            break
    measures = list(part.getElementsByClass("Measure"))
    shift = float(measures[0].paddingLeft) if measures else 0.0
    ends = set()
    for m in measures:
        bl = m.rightBarline
        if bl is not None and (getattr(bl, "type", "") in SECTION_BARLINES or "Repeat" in type(bl).__name__):
            end = float(m.offset) + float(m.duration.quarterLength)
            if cut is None or end <= cut:
                ends.add(round((end + shift) * tok.TICKS_PER_BEAT))
    notes = []
    for n in part.stripTies().flatten().notes:
        ql = float(n.duration.quarterLength)
        if ql <= 0:
            continue  # grace notes
        offset = float(n.offset)
        if cut is not None and offset >= cut:
            break
        key = max(p.midi for p in n.pitches)
        onset = round((offset + shift) * tok.TICKS_PER_BEAT)
        dur = max(1, round(ql * tok.TICKS_PER_BEAT))
        if notes and onset <= notes[-1][0]:
            continue  # keep the line monophonic: first note at each onset
        notes.append((onset, dur, int(key)))
        if any(type(e).__name__ == "Fermata" for e in n.expressions):
            ends.add(onset + dur)
    if len(notes) < MIN_NOTES:
        return None
    last = notes[-1][0] + notes[-1][1]
    return first, notes, sorted(e for e in ends if notes[0][0] < e < last)


def record(tune_id, source, style, meter, notes, phrase_ends=(), voice=0, voices=1):
    tonic, mode = key_of(notes)
    span_beats = (notes[-1][0] + notes[-1][1] - notes[0][0]) / tok.TICKS_PER_BEAT
    return {
        "id": tune_id,
        "source": source,
        "style": style,
        "split": split_of(tune_id),  # provisional: assign_splits() sets it by group
        "meter": list(meter),
        "notes": [list(n) for n in notes],
        "density": len(notes) / max(span_beats, 1.0),
        "register": float(np.mean([k for _, _, k in notes])),
        "mode": mode,
        "tonic": tonic,
        "voice": voice,
        "voices": voices,
        "phrase_ends": list(phrase_ends),
    }


def extract_file(args):
    path, rel = args
    from music21 import converter, stream

    style = style_of(rel)
    if style is None:
        return []
    source = rel.split("/")[0]
    out = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if path.endswith(".abc"):
                text = pathlib.Path(path).read_text(encoding="latin-1")
                if "%abc-2" not in text[:200]:
                    text = "%abc-2.1\n" + text
                parsed = converter.parseData(text, format="abc")
            else:
                parsed = converter.parse(path)
        scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        for i, score in enumerate(scores):
            number = score.metadata.number if score.metadata and score.metadata.number else i
            parts = list(score.parts) or [score]
            if style not in ("chorale", "renaissance"):
                parts = parts[:1]  # the tune
            for v, part in enumerate(parts):
                line = line_of(part)
                if line is None:
                    continue
                tune_id = f"{rel}#{number}" + (f"/{v}" if len(parts) > 1 else "")
                out.append(record(tune_id, source, style, *line, voice=v, voices=len(parts)))
    except Exception as e:  # a broken file is skipped, not fatal
        print(f"skip {rel}: {type(e).__name__}: {e}", file=sys.stderr)
    return out


def corpus_files():
    import music21

    root = pathlib.Path(music21.__file__).parent / "corpus"
    files = []
    for p in sorted(root.rglob("*")):
        if p.suffix not in (".abc", ".mxl", ".xml", ".krn") or not p.is_file():
            continue
        rel = str(p.relative_to(root))
        if style_of(rel) is not None:
            files.append((str(p), rel))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(pathlib.Path(__file__).parent / "cache"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (for a quick look)")
    ap.add_argument("--only", default="", help="comma-separated corpus folders to (re-)extract into the existing cache")
    ap.add_argument("--resplit", action="store_true", help="only recompute the splits of the existing cache")
    args = ap.parse_args()
    cache = pathlib.Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if args.resplit:
        write(cache / "tunes.jsonl.gz", read(cache / "tunes.jsonl.gz"), time.time())
        return
    files = corpus_files()
    only = [d for d in args.only.split(",") if d]
    if only:
        files = [f for f in files if f[1].split("/")[0] in only]
    if args.limit:
        files = files[: args.limit]
    t0 = time.time()
    tunes = []
    with multiprocessing.Pool(args.jobs) as pool:
        # Biggest files first, one at a time, so both workers stay busy to the end.
        files.sort(key=lambda f: -pathlib.Path(f[0]).stat().st_size)
        for i, recs in enumerate(pool.imap_unordered(extract_file, files, chunksize=1)):
            tunes.extend(recs)
            if i % 100 == 0:
                print(f"{i}/{len(files)} files, {len(tunes)} lines, {time.time() - t0:.0f} s", flush=True)
    out = cache / "tunes.jsonl.gz"
    if only and out.is_file():
        tunes += [t for t in read(out) if t["source"] not in only]
    write(out, tunes, t0)


def read(path: pathlib.Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def write(out: pathlib.Path, tunes: list[dict], t0: float):
    tunes.sort(key=lambda t: t["id"])
    changed = assign_splits(tunes)
    with gzip.open(out, "wt") as f:
        for t in tunes:
            f.write(json.dumps(t) + "\n")
    by_style = {s: sum(t["style"] == s for t in tunes) for s in ALL_STYLES}
    by_split = {s: sum(t["split"] == s for t in tunes) for s in ("train", "val", "test")}
    print(f"wrote {out}: {len(tunes)} lines in {time.time() - t0:.0f} s; {by_style}; {by_split}; {changed} splits changed")


if __name__ == "__main__":
    main()
