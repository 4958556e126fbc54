"""The phrase benchmark: Descant's answers to held-out tunes' first phrases, through the
built plugin, against the tunes' real consequent phrases and a random note of the key.

For each held-out tune of a style (the test split, so the model never trained on it) the call is its
first phrase, bars counted from its first note (a pickup leads into its phrase): up to its first
phrase end when that falls within 2 to `--call-bars` bars (default 4), else that many bars. The real
consequent runs from there to the tune's next phrase end (at most twice the call's bars on), else as
many bars as the call: in an 8-bar strain, its second half (with `--call-bars 8` a whole first
strain is the call). The call is written as a MIDI file and answered by `descant render --mode
answer` with the style set to the tune's; the answer is what Descant played after the call. Each is
measured: ending on the tonic on a strong beat (an ending is the last note that starts on a strong
beat; the tonic is the extraction's, the Krumhansl-Schmuckler tonic of the whole tune) and on the
pitch class the tune itself ends on (its home, a modal tune's final), notes per beat against the
call, notes in key, range, share of steps, whether the last note is reached by a repeat or a step. A
discriminator (logistic regression on transposition-invariant features, 5-fold cross-validation)
says how well answers can be told from the real consequents: 50 % means not at all. `--dump FILE`
keeps each call, answer and real consequent (ticks) as JSON lines, to study without rendering.

Run from the repository root after `cargo xtask bundle descant` (or with `--plugin`):
    training/.venv/bin/python training/phrases.py --style irish-scottish --tunes 120
Never in CI: it needs the built plugin and the extracted corpus (`training/cache`).
"""

import argparse
import gzip
import json
import pathlib
import random
import subprocess
import tempfile

import numpy as np

TICKS = 12  # per quarter note, as the token grammar
STYLE_NAMES = {
    "irish-scottish": "Irish & Scottish",
    "folk-european": "European folk",
    "folk-chinese": "Chinese folk",
    "chorale": "Chorale",
    "renaissance": "Renaissance",
}
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10, 11]


def bar_ticks(meter):
    return meter[0] * TICKS * 4 // meter[1]


def strong(meter, tick):
    bar = bar_ticks(meter)
    pos = tick % bar
    return pos == 0 or (meter[0] in (4, 6, 12) and 2 * pos == bar)


def call_and_consequent(t, call_bars=4):
    """The call (first phrase) and the real consequent, in ticks, with the call's length in bars.

    Bars are counted from the tune's first note, so a pickup belongs to the phrase it leads into
    (ticks count from the start of the pickup's bar: a tune with a pickup has its phrase ends a
    pickup short of a bar line). The call runs to the first marked phrase end 2 to `call_bars`
    bars on, else `call_bars` bars; the consequent from there to the next phrase end (at least a
    bar on, at most twice the call's bars), else as many bars as the call."""
    bar = bar_ticks(t["meter"])
    notes = t["notes"]
    start = notes[0][0]
    ends = sorted(t.get("phrase_ends", []))
    first = [e for e in ends if 2 * bar <= e - start <= call_bars * bar]
    cut = first[0] if first else start + call_bars * bar
    bars = max(1, round((cut - start) / bar))
    second = [e for e in ends if cut + bar <= e <= cut + 2 * bars * bar]
    until = second[0] if second else cut + bars * bar
    call = [n for n in notes if n[0] < cut]
    rest = [n for n in notes if cut <= n[0] < until]
    return call, rest, cut, bars


def write_midi(notes, meter, path):
    from music21 import meter as m21meter, note, stream, tempo

    s = stream.Stream()
    s.append(m21meter.TimeSignature(f"{meter[0]}/{meter[1]}"))
    s.insert(0, tempo.MetronomeMark(number=100))
    for onset, dur, key in notes:
        n = note.Note(key)
        n.quarterLength = dur / TICKS
        s.insert(onset / TICKS, n)
    s.write("midi", fp=str(path))


def read_midi(path):
    from music21 import converter

    out = []
    for n in converter.parse(str(path)).flatten().notes:
        for p in n.pitches:
            out.append([round(float(n.offset) * TICKS), max(1, round(float(n.quarterLength) * TICKS)), p.midi])
    return sorted(out)


def in_key(key, tonic, mode):
    return (key - tonic) % 12 in (MINOR if mode == "minor" else MAJOR)


def measures(phrase, call, t):
    if not phrase:
        return None
    # The ending: the last note that starts on a strong beat (notes after it lead on into the
    # next phrase, as a tune's pickups do).
    on_strong = [n for n in phrase if strong(t["meter"], n[0])]
    last = on_strong[-1] if on_strong else phrase[-1]
    span = lambda ns: (max(o + d for o, d, _ in ns) - ns[0][0]) / TICKS
    npb = lambda ns: len(ns) / max(span(ns), 1e-9)
    ints = [b[2] - a[2] for a, b in zip(phrase, phrase[1:])]
    return {
        "tonic_strong": (last[2] - t["tonic"]) % 12 == 0 and bool(on_strong),
        # The tune's own home: the pitch class of its last note (a modal tune's final), where
        # `tonic` is the extraction's profile tonic of all its notes.
        "home_strong": (last[2] - t["notes"][-1][2]) % 12 == 0 and bool(on_strong),
        "density_ok": 0.6 <= npb(phrase) / max(npb(call), 1e-9) <= 1.6,
        "in_key": np.mean([in_key(k, t["tonic"], t["mode"]) for _, _, k in phrase]),
        "range": max(k for *_, k in phrase) - min(k for *_, k in phrase),
        "steps": np.mean([abs(i) <= 2 for i in ints]) if ints else 0.0,
        # How the phrase's last note is reached: by a repeat or a step (not a leap).
        "last_by_step": bool(ints) and abs(ints[-1]) <= 2,
    }


def features(phrase, t):
    """Transposition-invariant features of a phrase for the discriminator."""
    ints = np.array([b[2] - a[2] for a, b in zip(phrase, phrase[1:])] or [0])
    f = list(np.bincount(np.clip(ints, -7, 7) + 7, minlength=15) / len(ints))
    durs = np.array([d for _, d, _ in phrase])
    f += list(np.bincount(np.digitize(durs, [4, 7, 10, 13, 19, 25]), minlength=7) / len(durs))
    deg = np.array([(k - t["tonic"]) % 12 for *_, k in phrase])
    f += list(np.bincount(deg, minlength=12) / len(deg))
    f += list(np.eye(12)[deg[-1]])
    span = (phrase[-1][0] + phrase[-1][1] - phrase[0][0]) / TICKS
    f += [len(phrase) / max(span, 1e-9), np.mean(ints > 0), np.mean(ints < 0), np.mean(ints == 0)]
    f += [(max(k for *_, k in phrase) - min(k for *_, k in phrase)) / 12]
    return np.array(f, dtype=float)


# The discriminator's feature groups, as `features` lays them out: (name, first, end).
FEATURE_GROUPS = [
    ("intervals", 0, 15),
    ("lengths", 15, 22),
    ("scale degrees", 22, 34),
    ("last degree", 34, 46),
    ("density and contour", 46, 50),
    ("range", 50, 51),
]


def cv_accuracy(x, y, folds=5, l2=1.0, steps=2000, seed=1):
    """Mean held-out accuracy of L2 logistic regression over `folds` folds."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    accs = []
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
        xt, xv = (x[train] - mu) / sd, (x[test] - mu) / sd
        w, b = np.zeros(x.shape[1]), 0.0
        for _ in range(steps):
            p = 1 / (1 + np.exp(-(xt @ w + b)))
            g = p - y[train]
            w -= 0.1 * (xt.T @ g / len(g) + l2 * w / len(g))
            b -= 0.1 * g.mean()
        accs.append(np.mean(((xv @ w + b) > 0) == (y[test] == 1)))
    return float(np.mean(accs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--style", default="irish-scottish", choices=sorted(STYLE_NAMES))
    ap.add_argument("--tunes", type=int, default=120)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--call-bars", type=int, default=4, help="longest call, in bars")
    ap.add_argument("--plugin", default="target/bundled/Descant.clap")
    ap.add_argument("--descant", default="target/debug/descant")
    ap.add_argument("--cache", default="training/cache")
    ap.add_argument("--set", action="append", default=[], help="NAME=VALUE for the plugin")
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--dump", help="write each call, answer and real consequent (ticks) as JSON lines here")
    args = ap.parse_args()
    tunes = []
    with gzip.open(pathlib.Path(args.cache) / "tunes.jsonl.gz", "rt") as f:
        for line in f:
            t = json.loads(line)
            if t["split"] == "test" and t["style"] == args.style and t.get("voices", 1) == 1:
                tunes.append(t)
    random.Random(1).shuffle(tunes)
    rows = {"answer": [], "consequent": [], "random": []}
    feats = {"answer": [], "consequent": []}
    rng = random.Random(2)
    done = 0
    dump = open(args.dump, "w") if args.dump else None
    with tempfile.TemporaryDirectory() as tmp:
        for t in tunes:
            if done >= args.tunes:
                break
            call, cons, cut, bars = call_and_consequent(t, args.call_bars)
            if len(call) < 4 or len(cons) < 4:
                continue
            src, out = pathlib.Path(tmp) / "call.mid", pathlib.Path(tmp) / "answer.mid"
            write_midi(call, t["meter"], src)
            cmd = [args.descant, "render", str(src), str(out), "--mode", "answer", "--seed",
                   str(args.seed), "--tail-bars", str(bars + 4), "--plugin", args.plugin,
                   "--set", f"Style={STYLE_NAMES[t['style']]}"]
            for s in args.set:
                cmd += ["--set", s]
            subprocess.run(cmd, check=True, capture_output=True)
            call_end = max(o + d for o, d, _ in call)
            answer = [n for n in read_midi(out) if n[0] >= call_end]
            if len(answer) < 2:
                rows["answer"].append(None)
                done += 1
                continue
            scale = MINOR if t["mode"] == "minor" else MAJOR
            rand = [[o, d, 60 + (t["tonic"] + rng.choice(scale)) % 12] for o, d, _ in cons]
            for name, phrase in (("answer", answer), ("consequent", cons), ("random", rand)):
                rows[name].append(measures(phrase, call, t))
            if dump:
                dump.write(json.dumps({"id": t["id"], "meter": t["meter"], "tonic": t["tonic"], "mode": t["mode"],
                                       "call": call, "answer": answer, "consequent": cons}) + "\n")
            feats["answer"].append(features(answer, t))
            feats["consequent"].append(features(cons, t))
            done += 1
    if dump:
        dump.close()
    table = {}
    for name, ms in rows.items():
        ok = [m for m in ms if m]
        table[name] = {
            "phrases": len(ok),
            "tonic on a strong beat %": 100 * np.mean([m["tonic_strong"] for m in ok]),
            "the tune's last note's class on a strong beat %": 100 * np.mean(
                [m["home_strong"] for m in ok]),
            "notes per beat 0.6-1.6x the call's %": 100 * np.mean([m["density_ok"] for m in ok]),
            "notes in key %": 100 * np.mean([m["in_key"] for m in ok]),
            "range (semitones)": float(np.mean([m["range"] for m in ok])),
            "steps %": 100 * np.mean([m["steps"] for m in ok]),
            "last note by repeat or step %": 100 * np.mean([m["last_by_step"] for m in ok]),
        }
    x = np.array(feats["answer"] + feats["consequent"])
    y = np.array([1] * len(feats["answer"]) + [0] * len(feats["consequent"]))
    table["discriminator accuracy %"] = 100 * cv_accuracy(x, y)
    # What tells them apart: the accuracy on each feature group alone.
    table["discriminator by feature group %"] = {
        name: 100 * cv_accuracy(x[:, a:b], y) for name, a, b in FEATURE_GROUPS
    }
    table["calls"] = done
    print(f"style {args.style}, {done} held-out tunes, seed {args.seed}")
    for name in ("answer", "consequent", "random"):
        print(name.ljust(11), "  ".join(f"{k} {v:.1f}" for k, v in table[name].items()))
    print(f"discriminator (answers vs real consequents, 5-fold): {table['discriminator accuracy %']:.1f} %")
    print("  on one feature group alone: " + ", ".join(
        f"{k} {v:.1f} %" for k, v in table["discriminator by feature group %"].items()))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(table, indent=1, default=float))


if __name__ == "__main__":
    main()
