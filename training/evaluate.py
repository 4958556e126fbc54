"""Evaluates the exported model against a baseline and checks its controls; writes
`cache/eval.json` and prints the tables that go into assets/MODEL_CARD.md.

    python training/evaluate.py [--cache training/cache] [--model assets/descant.onnx]

- Held-out bits per token (test split, every tune from its first bar, up to the context length) for
  the model (fp32 and int8 dynamic quantisation) and for an interpolated Witten-Bell 5-gram over the
  same tokens of the training split; per style.
- Continuations: the first two bars of held-out tunes as prompt, eight bars generated as the
  plugin does (grammar mask, monophonic line, keys 36-96, temperature 1, top-p 0.95): in-key rate
  and share of onsets on the sixteenth/triplet grid, against the real continuations; share of
  generated 8-note interval patterns copied verbatim from the training set.
- Controls: a logistic-regression style classifier trained on real tunes' features labels
  generated output for each requested style; requested density and register against the measured
  ones.
- Step latency on one thread, median and p99, at context 32 and 256.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import math
import pathlib
import random
import time

import numpy as np
import onnxruntime as ort

import descant_tokens as tok
import ngram_index
from extract import STYLES
from corpus import CONTROL_SIZE, Corpus, load_tunes
from sampling import sample

HERE = pathlib.Path(__file__).resolve().parent
CONTEXT = 256
MAJOR = {0, 2, 4, 5, 7, 9, 11}
MINOR = {0, 2, 3, 5, 7, 8, 10, 11}  # natural minor plus the leading tone


class Stepper:
    """The exported step graph in ONNX Runtime, one thread, as the plugin runs it."""

    def __init__(self, path, threads=1):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sess = ort.InferenceSession(str(path), opts)
        shape = self.sess.get_inputs()[3].shape
        self.L, self.H, self.D = shape[0], shape[2], shape[4]

    def run(self, tokens, control):
        """Logits after each token (list of arrays)."""
        pk = np.zeros((self.L, 1, self.H, 0, self.D), np.float32)
        pv = pk
        out = []
        for i, t in enumerate(tokens):
            logits, pk, pv = self.sess.run(None, {
                "token": np.array([[t]], np.int64), "position": np.array([i], np.int64),
                "control": control[None].astype(np.float32), "past_key": pk, "past_value": pv})
            out.append(logits[0])
        self.pk, self.pv, self.pos = pk, pv, len(tokens)
        return out

    def step(self, t, control):
        logits, self.pk, self.pv = self.sess.run(None, {
            "token": np.array([[t]], np.int64), "position": np.array([self.pos], np.int64),
            "control": control[None].astype(np.float32), "past_key": self.pk, "past_value": self.pv})
        self.pos += 1
        return logits[0]


def bits_per_token(stepper, seqs):
    total, n = 0.0, 0
    for seq, control in seqs:
        logits = stepper.run(seq[:-1], control)
        for lg, target in zip(logits, seq[1:]):
            lg = lg - lg.max()
            total -= (lg[target] - math.log(np.exp(lg).sum())) / math.log(2)
            n += 1
    return float(total / n)


class WittenBell:
    """Interpolated Witten-Bell n-gram over token ids (order 5)."""

    def __init__(self, seqs, order=5, vocab=tok.VOCAB_SIZE):
        self.order, self.vocab = order, vocab
        self.counts = collections.defaultdict(collections.Counter)
        for seq in seqs:
            for i in range(len(seq)):
                for k in range(order):
                    if i - k < 0:
                        break
                    self.counts[tuple(seq[i - k:i])][seq[i]] += 1
        self.totals = {h: sum(c.values()) for h, c in self.counts.items()}

    def prob(self, history, w):
        p = 1.0 / self.vocab
        for k in range(0, self.order):
            if k > len(history):
                break
            h = tuple(history[len(history) - k:]) if k else ()
            c = self.counts.get(h)
            if not c:
                continue
            types, total = len(c), self.totals[h]
            p = (c[w] + types * p) / (total + types)
        return p

    def bits(self, seq):
        return sum(-math.log2(self.prob(seq[max(0, i - self.order + 1):i], seq[i])) for i in range(1, len(seq)))


def continue_line(stepper, prompt_notes, meter, start_tick, bars, control, rng):
    """Generates notes from `start_tick` for `bars` bars, as the plugin's generator does."""
    bar_len = tok.bar_ticks(meter)
    start_bar = start_tick // bar_len
    tokens = tok.encode([n for n in prompt_notes if n[0] < start_tick], meter, start_bar + 1)
    logits = stepper.run(tokens, control)[-1]
    bar_start, next_free, expect, onset, key = start_bar * bar_len, start_tick, "pos", 0, 0
    end = (start_bar + bars) * bar_len
    notes = []
    kinds = np.arange(tok.VOCAB_SIZE)
    is_pos = (kinds >= tok.POS_BASE) & (kinds < tok.PITCH_BASE)
    is_pitch = (kinds >= tok.PITCH_BASE + 36 - tok.PITCH_LOW) & (kinds <= tok.PITCH_BASE + 96 - tok.PITCH_LOW)
    is_dur = kinds >= tok.DUR_BASE
    while bar_start < end and stepper.pos < CONTEXT - 1:
        if expect == "pos":
            pos = kinds - tok.POS_BASE
            allowed = is_pos & (pos < bar_len) & (bar_start + pos >= next_free)
            allowed[tok.BAR] = True
        else:
            allowed = is_pitch if expect == "pitch" else is_dur
        t = sample(logits, allowed, rng)
        logits = stepper.step(t, control)
        if t == tok.BAR:
            bar_start += bar_len
        elif expect == "pos":
            onset, expect = bar_start + t - tok.POS_BASE, "pitch"
        elif expect == "pitch":
            key, expect = t - tok.PITCH_BASE + tok.PITCH_LOW, "dur"
        else:
            dur = t - tok.DUR_BASE + 1
            notes.append((onset, dur, key))
            next_free, expect = onset + dur, "pos"
    return notes


def in_key(notes, tonic, mode):
    scale = MAJOR if mode == "major" else MINOR
    return sum(((k - tonic) % 12) in scale for _, _, k in notes), len(notes)


def on_grid(notes):
    return sum(o % 3 == 0 or o % 4 == 0 for o, _, _ in notes), len(notes)


def intervals(notes):
    keys = [k for _, _, k in notes]
    return [b - a for a, b in zip(keys, keys[1:])]


def features(notes, tonic):
    """Features for the style classifier: tonic-relative pitch classes, intervals, durations,
    onsets in the beat, density, register."""
    f = np.zeros(12 + 25 + 8 + 12 + 2)
    for o, d, k in notes:
        f[(k - tonic) % 12] += 1
        f[12 + 25 + min(7, int(math.log2(max(d, 1))))] += 1
        f[12 + 25 + 8 + o % 12] += 1
    for i in intervals(notes):
        f[12 + max(-12, min(12, i)) + 12] += 1
    n = max(len(notes), 1)
    f[:-2] /= n
    span = (notes[-1][0] + notes[-1][1] - notes[0][0]) / 12 if notes else 1
    f[-2] = math.log(n / max(span, 1))
    f[-1] = (np.mean([k for _, _, k in notes]) - 64) / 12 if notes else 0
    return f


def train_classifier(X, y, classes, epochs=300, lr=0.5):
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Xn = (X - mu) / sd
    W = np.zeros((X.shape[1], classes))
    b = np.zeros(classes)
    Y = np.eye(classes)[y]
    for _ in range(epochs):
        z = Xn @ W + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - Y) / len(X)
        W -= lr * (Xn.T @ g + 1e-3 * W)
        b -= lr * g.sum(0)
    return lambda Z: np.argmax(((Z - mu) / sd) @ W + b, 1)


def latency(stepper, n):
    """Median and p99 step time (ms) at context n."""
    control = np.zeros(CONTROL_SIZE, np.float32)
    stepper.run([tok.BAR] * n, control)
    times = []
    for _ in range(200):
        pk, pv, pos = stepper.pk, stepper.pv, stepper.pos
        t0 = time.perf_counter()
        stepper.step(tok.BAR, control)
        times.append((time.perf_counter() - t0) * 1000)
        stepper.pk, stepper.pv, stepper.pos = pk, pv, pos
    return float(np.median(times)), float(np.percentile(times, 99))


# How much worse (bits per token, in any style) the int8 copy may be and still ship beside fp32.
INT8_TOLERANCE = 0.01


def ship_int8(model: pathlib.Path, int8: pathlib.Path, per_style: dict) -> bool:
    """Writes `<model>.int8.onnx` with its sidecar (the fp32 sidecar with name and sha256 replaced)
    and a link to the originality index beside the fp32 model when the int8 copy's held-out bits
    per token are within INT8_TOLERANCE of fp32 in every style; removes them otherwise."""
    stem = model.with_suffix("")
    out = {ext: pathlib.Path(f"{stem}.int8{ext}") for ext in (".onnx", ".json", ".ngrams")}
    holds = bool(per_style) and all(r["model_int8"] - r["model_fp32"] <= INT8_TOLERANCE for r in per_style.values())
    for path in out.values():
        if path.is_symlink() or path.exists():
            path.unlink()
    if not holds:
        print("int8 copy not shipped: its quality does not hold", flush=True)
        return False
    data = int8.read_bytes()
    out[".onnx"].write_bytes(data)
    sidecar = json.loads(model.with_suffix(".json").read_text())
    sidecar["name"] = f"{sidecar['name']}-int8"
    sidecar["sha256"] = hashlib.sha256(data).hexdigest()
    out[".json"].write_text(json.dumps(sidecar, indent=2) + "\n")
    if model.with_suffix(".ngrams").is_file():
        out[".ngrams"].symlink_to(model.with_suffix(".ngrams").name)
    print(f"shipped {out['.onnx']} ({len(data) / 1e6:.1f} MB)", flush=True)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--model", default=str(HERE.parent / "assets" / "descant.onnx"))
    ap.add_argument("--tunes", type=int, default=150, help="held-out tunes per measurement")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    prng = random.Random(0)
    cache = pathlib.Path(args.cache)
    tunes = load_tunes(cache)
    train = [t for t in tunes if t["split"] == "train"]
    test = [t for t in tunes if t["split"] == "test"]
    corpus = Corpus(train, Corpus.norms_of(train))
    report = {}

    # Bits per token.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = cache / "descant.int8.onnx"
    quantize_dynamic(args.model, str(int8_path), weight_type=QuantType.QInt8)
    fp32, int8 = Stepper(args.model), Stepper(int8_path)
    t0 = time.time()
    ngram = WittenBell([corpus.window(t, CONTEXT, 0, 0, prng) for t in train])
    report["ngram_train_seconds"] = round(time.time() - t0, 1)
    per_style = {}
    for style in STYLES:
        held = [t for t in test if t["style"] == style]
        prng.shuffle(held)
        held = held[: args.tunes // 2]
        if not held:
            continue
        seqs = [(corpus.window(t, CONTEXT, 0, 0, prng), corpus.control(t, 0, 1.0, prng)) for t in held]
        n_tokens = sum(len(s) - 1 for s, _ in seqs)
        per_style[style] = {
            "tunes": len(held), "tokens": n_tokens,
            "model_fp32": bits_per_token(fp32, seqs),
            "model_int8": bits_per_token(int8, seqs),
            "ngram5": sum(ngram.bits(s) for s, _ in seqs) / n_tokens,
        }
        print(style, {k: round(v, 3) if isinstance(v, float) else v for k, v in per_style[style].items()}, flush=True)
    report["bits_per_token"] = per_style
    report["int8_shipped"] = ship_int8(pathlib.Path(args.model), int8_path, per_style)

    # Continuations.
    train_grams = set()
    for t in train:
        iv = intervals(t["notes"])
        for i in range(len(iv) - 6):
            train_grams.add(tuple(iv[i:i + 7]))
    distinctive = set(ngram_index.distinctive_ngrams(train))
    distinctive_copies = 0
    gen_key, gen_grid, real_key, real_grid, copies, windows = [0, 0], [0, 0], [0, 0], [0, 0], 0, 0
    held = [t for t in test if len(t["notes"]) > 16]
    prng.shuffle(held)
    for t in held[: args.tunes]:
        meter = tuple(t["meter"])
        bar_len = tok.bar_ticks(meter)
        start = 2 * bar_len
        notes = [tuple(n) for n in t["notes"]]
        out = continue_line(fp32, notes, meter, start, 8, np.zeros(CONTROL_SIZE, np.float32), rng)
        real = [n for n in notes if start <= n[0] < start + 8 * bar_len]
        for acc, (a, b) in ((gen_key, in_key(out, t["tonic"], t["mode"])), (gen_grid, on_grid(out)),
                            (real_key, in_key(real, t["tonic"], t["mode"])), (real_grid, on_grid(real))):
            acc[0] += a
            acc[1] += b
        iv = intervals(out)
        for i in range(len(iv) - 6):
            windows += 1
            copies += tuple(iv[i:i + 7]) in train_grams
            distinctive_copies += tuple(iv[i:i + 7]) in distinctive
    report["continuations"] = {
        "tunes": min(len(held), args.tunes),
        "generated_in_key": gen_key[0] / max(gen_key[1], 1), "corpus_in_key": real_key[0] / max(real_key[1], 1),
        "generated_on_grid": gen_grid[0] / max(gen_grid[1], 1), "corpus_on_grid": real_grid[0] / max(real_grid[1], 1),
        "generated_notes": gen_key[1],
        "interval_8gram_copy_rate": copies / max(windows, 1), "windows": windows,
        "distinctive_8gram_copy_rate": distinctive_copies / max(windows, 1),
    }
    print("continuations", report["continuations"], flush=True)

    # Style control.
    X = np.array([features(t["notes"][:64], t["tonic"]) for t in train])
    y = np.array([STYLES.index(t["style"]) for t in train])
    clf = train_classifier(X, y, len(STYLES))
    real_acc = float((clf(np.array([features(t["notes"][:64], t["tonic"]) for t in test])) ==
                      np.array([STYLES.index(t["style"]) for t in test])).mean())
    per = 24
    correct, tried, confusion = 0, 0, np.zeros((len(STYLES), len(STYLES)), int)
    for s, style in enumerate(STYLES):
        meters = collections.Counter(tuple(t["meter"]) for t in train if t["style"] == style)
        if not meters:
            continue
        for i in range(per):
            tried += 1
            meter = meters.most_common(1)[0][0]
            control = np.zeros(CONTROL_SIZE, np.float32)
            control[s] = 1.0
            out = continue_line(fp32, [], meter, 0, 8, control, rng)
            if len(out) < 4:
                confusion[s, s - 1] += 1
                continue
            tonic, _ = __import__("extract").key_of(out)
            pred = int(clf(features(out, tonic)[None])[0])
            confusion[s, pred] += 1
            correct += pred == s
    report["style_control"] = {"classifier_accuracy_on_real_test_tunes": real_acc,
                               "accuracy_on_generated": correct / max(tried, 1),
                               "chance": 1 / len(STYLES), "confusion": confusion.tolist()}
    print("style", report["style_control"], flush=True)

    # Density and register control.
    attr = {}
    for name, index in (("density", len(STYLES)), ("register", len(STYLES) + 1)):
        measured = []
        for z in (-1.5, 0.0, 1.5):
            vals = []
            for i in range(20):
                control = np.zeros(CONTROL_SIZE, np.float32)
                control[index] = z
                out = continue_line(fp32, [], (4, 4), 0, 8, control, rng)
                if not out:
                    continue
                if name == "density":
                    span = (out[-1][0] + out[-1][1] - out[0][0]) / 12
                    vals.append(len(out) / max(span, 1))
                else:
                    vals.append(float(np.mean([k for _, _, k in out])))
            measured.append(float(np.mean(vals)))
        attr[name] = {"requested_z": [-1.5, 0.0, 1.5], "measured": measured,
                      "monotonic": bool(measured[0] < measured[1] < measured[2])}
        print(name, attr[name], flush=True)
    report["attribute_control"] = attr

    # Latency.
    lat = {}
    for label, stepper in (("fp32", fp32), ("int8", int8)):
        for n in (32, 255):
            med, p99 = latency(stepper, n)
            lat[f"{label}_ctx{n}"] = {"median_ms": round(med, 3), "p99_ms": round(p99, 3)}
    report["latency_one_thread"] = lat
    print("latency", lat, flush=True)
    (cache / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {cache / 'eval.json'}")


if __name__ == "__main__":
    main()
