"""Evaluates the exported model against a baseline and checks its controls; writes
`cache/eval.json` and prints the tables that go into assets/MODEL_CARD.md.

    python training/evaluate.py [--cache training/cache] [--model assets/descant.onnx]
                                [--previous tests/fixtures/descant-melody-v2.onnx]

- Held-out bits per own-note token (test split, every tune from its first bar, as many bars as fit
  the context in the two-voice grammar) for the model (fp32 and int8 dynamic quantisation), the
  previous single-line model (`--previous`, contract v1) on the same notes, and an interpolated
  Witten-Bell 5-gram over the same tokens of the training split; per style.
- Voice pairs (a two-voice model): held-out pieces, one voice given another (the chorales' alto
  given the soprano; renaissance voices given a neighbour): bits per own-note token with and
  without the heard voice, and lines generated from bar 2 for 8 bars, measured against the heard
  voice with `duet.py` (on-beat consonance with and without the 4th, parallel fifths and octaves,
  motion, crossings, notes in key) beside the real voice, the previous model's continuation of the
  same voice (it cannot hear) and a random note of the key at the same moments.
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
import duet
import ngram_index
from extract import STEM, STYLES
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
        side = pathlib.Path(path).with_suffix(".json")
        meta = json.loads(side.read_text()) if side.is_file() else {}
        # A v1 model speaks the single-line grammar and has the smaller control vector.
        self.two_voice = meta.get("contract_version", 2) >= 2
        self.control_size = self.sess.get_inputs()[2].shape[1]
        self.vocab = self.sess.get_outputs()[0].shape[1]

    def fit(self, control):
        """`control` cut or zero-padded to this model's size (models of other data have other
        style slots; an all-zero control, as the bits are measured with, means the same to all)."""
        out = np.zeros(self.control_size, np.float32)
        n = min(len(control), self.control_size)
        out[:n] = control[:n]
        return out

    def run(self, tokens, control):
        """Logits after each token (list of arrays)."""
        control = self.fit(control)
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
        control = self.fit(control)
        logits, self.pk, self.pv = self.sess.run(None, {
            "token": np.array([[t]], np.int64), "position": np.array([self.pos], np.int64),
            "control": control[None].astype(np.float32), "past_key": self.pk, "past_value": self.pv})
        self.pos += 1
        return logits[0]


def bits_per_token(stepper, seqs):
    """Mean bits over the scored targets: `seqs` holds (tokens, control) or (tokens, control,
    scored) where scored[i] says whether tokens[i] counts (Descant's own tokens)."""
    total, n = 0.0, 0
    for item in seqs:
        seq, control = item[0], item[1]
        scored = item[2] if len(item) > 2 else [True] * len(seq)
        logits = stepper.run(seq[:-1], control)
        for lg, target, keep in zip(logits, seq[1:], scored[1:]):
            if not keep:
                continue
            lg = lg - lg.max()
            total -= (lg[target] - math.log(np.exp(lg).sum())) / math.log(2)
            n += 1
    return float(total / max(n, 1))


def bars_that_fit(own, heard, meter, context=CONTEXT):
    """How many bars from bar 0 fit `context` tokens in the two-voice grammar (at least 1)."""
    bar_len = tok.bar_ticks(meter)
    last = max([o // bar_len for o, _, _ in own + heard] + [0])
    for bars in range(last + 1, 0, -1):
        end = bars * bar_len
        seq, _ = tok.encode2([n for n in own if n[0] < end], [n for n in heard if n[0] < end], meter)
        if len(seq) <= context:
            return bars
    return 1


def own_sequences(own, heard, meter, bars):
    """The same notes for both grammars: (v2 tokens, own mask) and v1 tokens of `own`."""
    end = bars * tok.bar_ticks(meter)
    mine = [n for n in own if n[0] < end]
    seq2, roles = tok.encode2(mine, [n for n in heard if n[0] < end], meter)
    return (seq2, [r == tok.ROLE_OWN for r in roles]), tok.encode(mine, meter)


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


def continue_line(stepper, prompt_notes, meter, start_tick, bars, control, rng, heard=()):
    """Generates notes from `start_tick` for `bars` bars, as the plugin's generator does: a
    two-voice model is told the `heard` notes of each bar when it enters it (and of the prompt's
    bars); a v1 model gets the single-line grammar and hears nothing."""
    bar_len = tok.bar_ticks(meter)
    start_bar = start_tick // bar_len
    heard = sorted(heard)
    if stepper.two_voice:
        told = [n for n in heard if n[0] < (start_bar + 1) * bar_len]
        tokens, _ = tok.encode2([n for n in prompt_notes if n[0] < start_tick], told, meter, start_bar + 1)
    else:
        tokens = tok.encode([n for n in prompt_notes if n[0] < start_tick], meter, start_bar + 1)
    logits = stepper.run(tokens, control)[-1]
    bar_start, next_free, expect, onset, key = start_bar * bar_len, start_tick, "pos", 0, 0
    end = (start_bar + bars) * bar_len
    notes = []
    kinds = np.arange(stepper.vocab)
    is_pos = (kinds >= tok.POS_BASE) & (kinds < tok.PITCH_BASE)
    is_pitch = (kinds >= tok.PITCH_BASE + 36 - tok.PITCH_LOW) & (kinds <= tok.PITCH_BASE + 96 - tok.PITCH_LOW)
    is_dur = (kinds >= tok.DUR_BASE) & (kinds < tok.VOCAB_SIZE_V1)
    while bar_start < end and stepper.pos < CONTEXT - 40:
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
            if stepper.two_voice:
                for n in [n for n in heard if bar_start <= n[0] < bar_start + bar_len]:
                    stepper.step(tok.POS_BASE + n[0] - bar_start, control)
                    stepper.step(tok.HEARD_BASE + tok.fold_pitch(n[2]) - tok.PITCH_LOW, control)
                    stepper.step(tok.DUR_BASE + min(max(n[1], 1), tok.MAX_DUR_TICKS) - 1, control)
                logits = stepper.step(tok.OWN, control)
        elif expect == "pos":
            onset, expect = bar_start + t - tok.POS_BASE, "pitch"
        elif expect == "pitch":
            key, expect = t - tok.PITCH_BASE + tok.PITCH_LOW, "dur"
        else:
            dur = t - tok.DUR_BASE + 1
            notes.append((onset, dur, key))
            next_free, expect = onset + dur, "pos"
    return [n for n in notes if n[0] < end]


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


def corpus_singles(tunes):
    """The lines a model sings alone (the chorales' soprano, every other line)."""
    return [t for t in tunes if t["style"] != "chorale" or t.get("voice", 0) == 0]


# Generated bars per voice pair, from bar 2.
PAIR_BARS = 8


def voice_pairs(model, previous, test, corpus, n, rng, prng):
    """The voice-pair table (see the module doc), per style: chorales (alto given soprano) and
    renaissance (a voice given the next one up)."""
    from corpus import pieces_of

    out = {}
    for style in ("chorale", "renaissance"):
        pieces = [p for p in pieces_of([t for t in test if t["style"] == style]) if len(p) >= 2]
        prng.shuffle(pieces)
        rows = {k: {} for k in ("real", "model", "previous", "model_deaf")}
        bits = {"model_hearing": [], "model_deaf": [], "previous": []}
        used = 0
        for voices in pieces[: n // 2]:
            voices = sorted(voices, key=lambda v: v.get("voice", 0))
            heard_t, own_t = voices[0], voices[1]  # soprano heard, alto sung (or the top two voices)
            meter = tuple(own_t["meter"])
            bar_len = tok.bar_ticks(meter)
            own = [tuple(x) for x in own_t["notes"]]
            heard = [tuple(x) for x in heard_t["notes"]]
            if own[-1][0] < (2 + PAIR_BARS) * bar_len:
                continue
            used += 1
            tonic, mode = own_t["tonic"], own_t["mode"]
            scale = (tonic, "minor" if mode == "minor" else "major")
            above = float(np.sign(np.mean([k for *_, k in own]) - np.mean([k for *_, k in heard])))
            control = corpus.control(own_t, 0, 0.0, prng, above)
            # Bits per own token, the same notes with and without the heard voice.
            bars = bars_that_fit(own, heard, meter)
            (with_heard, mask), v1 = own_sequences(own, heard, meter, bars)
            (alone, mask_alone), _ = own_sequences(own, [], meter, bars)
            bits["model_hearing"].append((with_heard, control, mask))
            bits["model_deaf"].append((alone, control, mask_alone))
            bits["previous"].append((v1, control))
            # Lines from bar 2, beside the real voice.
            start, end = 2 * bar_len, (2 + PAIR_BARS) * bar_len
            to_beats = lambda ns: [(o / 12, d / 12, k) for o, d, k in ns]  # noqa: E731
            span = (start / 12, end / 12)
            lines = {
                "real": [x for x in own if start <= x[0] < end],
                "model": continue_line(model, own, meter, start, PAIR_BARS, control, rng, heard),
                "model_deaf": continue_line(model, own, meter, start, PAIR_BARS, control, rng, ()),
            }
            if previous is not None:
                lines["previous"] = continue_line(previous, own, meter, start, PAIR_BARS, control, rng)
            beat = 1.5 if meter[1] == 8 else (2.0 if meter == (2, 2) else 1.0)
            for label, line in lines.items():
                duet.add(rows[label], duet.measure(to_beats(heard), to_beats(line), scale, beat, span))
        table = {"pairs": used}
        for label, total in rows.items():
            if total:
                table[label] = duet.shares(total)
        for label, seqs in bits.items():
            stepper = previous if label == "previous" else model
            if seqs and stepper is not None:
                table[f"bits_per_own_token_{label}"] = bits_per_token(stepper, seqs)
        out[style] = table
        print("voice pairs", style, json.dumps(table), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--model", default=str(HERE.parent / "assets" / f"{STEM}.onnx"))
    ap.add_argument("--compare", default="", help="another model scored on the same notes (bits per token)")
    ap.add_argument("--tunes", type=int, default=150, help="held-out tunes per measurement")
    ap.add_argument("--previous", default=str(HERE.parent / "tests" / "fixtures" / "descant-melody-v2.onnx"),
                    help="the previous (single-line) model, measured on the same notes")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    prng = random.Random(0)
    cache = pathlib.Path(args.cache)
    tunes = load_tunes(cache)
    train = [t for t in tunes if t["split"] == "train"]
    test = [t for t in tunes if t["split"] == "test"]
    corpus = Corpus(train, Corpus.norms_of(train))
    report = {}

    # Bits per own-note token, single lines: the same notes for every model.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = cache / f"{STEM}.int8.onnx"
    quantize_dynamic(args.model, str(int8_path), weight_type=QuantType.QInt8)
    fp32, int8 = Stepper(args.model), Stepper(int8_path)
    previous = Stepper(args.previous) if args.previous and pathlib.Path(args.previous).is_file() else None
    compare = Stepper(args.compare) if args.compare else None
    t0 = time.time()
    ngram = WittenBell([corpus.window(t, CONTEXT, 0, 0, prng) for t in train])
    report["ngram_train_seconds"] = round(time.time() - t0, 1)
    per_style = {}
    for style in STYLES:
        held = [t for t in corpus_singles(test) if t["style"] == style]
        prng.shuffle(held)
        held = held[: args.tunes // 2]
        if not held:
            continue
        v2, v1 = [], []
        for t in held:
            notes, meter = [tuple(n) for n in t["notes"]], tuple(t["meter"])
            (seq2, own), seq1 = own_sequences(notes, [], meter, bars_that_fit(notes, [], meter))
            control = corpus.control(t, 0, 1.0, prng)
            v2.append((seq2, control, own))
            v1.append((seq1, control))
        n_tokens = sum(len(s) - 1 for s, _ in v1)
        row = {"tunes": len(held), "own_tokens": n_tokens}
        for label, stepper in (("model_fp32", fp32), ("model_int8", int8), ("previous", previous),
                               ("compare", compare)):
            if stepper is not None:
                row[label] = bits_per_token(stepper, v2 if stepper.two_voice else v1)
        row["ngram5"] = sum(ngram.bits(s) for s, _ in v1) / n_tokens
        per_style[style] = row
        print(style, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    report["bits_per_token"] = per_style
    report["int8_shipped"] = ship_int8(pathlib.Path(args.model), int8_path, per_style)

    # Voice pairs: a held-out voice given another.
    if fp32.two_voice and any(t.get("voices", 1) >= 2 for t in test):
        report["voice_pairs"] = voice_pairs(fp32, previous, test, corpus, args.tunes, rng, prng)

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

    # Style control (a model of one style has nothing to tell apart).
    report["style_control"] = style_control(fp32, train, test, rng) if len(STYLES) > 1 else None
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
    for label, stepper in (("fp32", fp32), ("int8", int8), ("previous", previous)):
        if stepper is None:
            continue
        for n in (32, 255):
            med, p99 = latency(stepper, n)
            lat[f"{label}_ctx{n}"] = {"median_ms": round(med, 3), "p99_ms": round(p99, 3)}
    report["latency_one_thread"] = lat
    print("latency", lat, flush=True)
    out = cache / ("eval.json" if STEM == "descant" else f"eval-{STEM}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")



def style_control(fp32, train, test, rng):
    """A classifier of the styles, trained on real tunes, labels lines generated for each style."""
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
    return {"classifier_accuracy_on_real_test_tunes": real_acc,
            "accuracy_on_generated": correct / max(tried, 1),
            "chance": 1 / len(STYLES), "confusion": confusion.tolist()}


if __name__ == "__main__":
    main()
