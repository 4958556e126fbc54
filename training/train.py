"""Trains Descant's melody model on the extracted corpus and exports it to the step contract v1.

    python training/train.py [--minutes 50] [--out assets] [--cache training/cache]

Reads `cache/tunes.jsonl.gz` (from extract.py). Each batch takes random windows that start on a bar
line (encoded as the engine does: BOS METER BAR ...), transposed by a random interval per sequence
(augmentation per batch, not all keys up front). The control vector is the style one-hot, then
density, register and mode; each part is dropped to zero at random, so a zero control means
"unconditioned" (what the engine feeds until steering lands). Keeps the checkpoint with the best
validation loss (early stopping), exports `descant.onnx` with the KV-cache step graph, checks it
against PyTorch with ONNX Runtime (max |Δlogit| is printed and written to the sidecar), and writes
the sidecar `descant.json`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import pathlib
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import descant_tokens as tok
from corpus import ATTRIBUTES, CONTROL_SIZE, Corpus, load_tunes  # noqa: F401 (re-exported)
from extract import STYLES
from model import MelodyModel, StepGraph

# The name the sidecar (and the editor) gives the model; bump it with each shipped retraining.
MODEL_NAME = "descant-melody-v2"
HERE = pathlib.Path(__file__).resolve().parent


def bf16_is_native() -> bool:
    """bf16 autocast only pays where the CPU has bf16 arithmetic (AVX512-BF16 or AMX); on plain
    AVX2 it is emulated and about 10x slower than fp32 (measured here)."""
    try:
        flags = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


AUTOCAST_DTYPE = torch.bfloat16 if bf16_is_native() else torch.float32


def batch(corpus, size, max_len, rng, train=True):
    tokens = np.zeros((size, max_len + 1), np.int64)
    mask = np.zeros((size, max_len + 1), bool)
    controls = np.zeros((size, CONTROL_SIZE), np.float32)
    for i in range(size):
        t = rng.choice(corpus.tunes)
        keys = [k for _, _, k in t["notes"]]
        lo, hi = tok.PITCH_LOW - min(keys), tok.PITCH_HIGH - max(keys)
        shift = rng.randint(max(-6, lo), min(5, hi)) if train and lo <= hi else 0
        seq = corpus.window(t, max_len + 1, shift, None, rng)
        tokens[i, : len(seq)] = seq
        mask[i, : len(seq)] = True
        controls[i] = corpus.control(t, shift, 0.2 if train else 0.0, rng)
    return torch.from_numpy(tokens), torch.from_numpy(mask), torch.from_numpy(controls)


def loss_of(model, tokens, mask, controls):
    logits = model(tokens[:, :-1], controls)
    target = tokens[:, 1:]
    m = mask[:, 1:]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
    return (loss * m.reshape(-1)).sum() / m.sum(), m.sum()


@torch.no_grad()
def evaluate(model, corpus, max_len, seed=0, n=256):
    """Mean loss (nats per token) over fixed windows: each tune from its first bar."""
    model.eval()
    rng = random.Random(seed)
    total, count = 0.0, 0
    tunes = corpus.tunes[:n] if len(corpus.tunes) > n else corpus.tunes
    for i in range(0, len(tunes), 32):
        chunk = tunes[i : i + 32]
        toks = np.zeros((len(chunk), max_len + 1), np.int64)
        mask = np.zeros_like(toks, dtype=bool)
        ctl = np.zeros((len(chunk), CONTROL_SIZE), np.float32)
        for j, t in enumerate(chunk):
            seq = corpus.window(t, max_len + 1, 0, 0, rng)
            toks[j, : len(seq)] = seq
            mask[j, : len(seq)] = True
            ctl[j] = corpus.control(t, 0, 0.0, rng)
        with torch.autocast("cpu", dtype=AUTOCAST_DTYPE, enabled=AUTOCAST_DTYPE != torch.float32):
            loss, m = loss_of(model, torch.from_numpy(toks), torch.from_numpy(mask), torch.from_numpy(ctl))
        total += float(loss) * int(m)
        count += int(m)
    model.train()
    return total / count


def export(model, out: pathlib.Path, config, extra_sidecar):
    # The wrapper must be in eval mode too: export restores its mode afterwards, recursively.
    graph = StepGraph(model).eval()
    L, H = config["layers"], config["heads"]
    D = config["d"] // H
    past = torch.zeros(L, 1, H, 1, D)
    args = (torch.tensor([[tok.BOS]]), torch.tensor([1]), torch.zeros(1, CONTROL_SIZE), past, past)
    onnx_path = out / "descant.onnx"
    torch.onnx.export(
        graph, args, str(onnx_path), dynamo=False, opset_version=17,
        input_names=["token", "position", "control", "past_key", "past_value"],
        output_names=["logits", "present_key", "present_value"],
        dynamic_axes={"past_key": {3: "past"}, "past_value": {3: "past"},
                      "present_key": {3: "present"}, "present_value": {3: "present"}},
    )
    data = onnx_path.read_bytes()
    max_delta = verify(model, onnx_path, config)
    sidecar = {
        "contract": "descant-step", "contract_version": 1, "name": MODEL_NAME, "trained": True,
        "vocab_size": tok.VOCAB_SIZE, "ticks_per_beat": tok.TICKS_PER_BEAT,
        "max_context": config["max_context"], "layers": L, "heads": H, "head_dim": D,
        "control": {"size": CONTROL_SIZE, "styles": STYLES, "attributes": ATTRIBUTES},
        "vocab": tok.vocab_layout(),
        "export_max_abs_logit_delta": max_delta,
        **extra_sidecar,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out / "descant.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return max_delta


@torch.no_grad()
def verify(model, onnx_path, config, n=40):
    """Steps ONNX Runtime through a fixed sequence; compares with the PyTorch full forward."""
    import onnxruntime as ort

    model.eval()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts)
    rng = random.Random(1)
    seq = [tok.BOS, tok.METER_BASE, tok.BAR] + [rng.randrange(tok.POS_BASE, tok.VOCAB_SIZE) for _ in range(n)]
    control = np.zeros((1, CONTROL_SIZE), np.float32)
    control[0, 2] = 1.0
    control[0, 6] = 0.5
    ref = model(torch.tensor([seq]), torch.from_numpy(control))[0].numpy()
    L, H = config["layers"], config["heads"]
    D = config["d"] // H
    pk = np.zeros((L, 1, H, 0, D), np.float32)
    pv = pk
    worst = 0.0
    for i, t in enumerate(seq):
        logits, pk, pv = sess.run(None, {"token": np.array([[t]], np.int64), "position": np.array([i], np.int64),
                                         "control": control, "past_key": pk, "past_value": pv})
        worst = max(worst, float(np.abs(logits[0] - ref[i]).max()))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--out", default=str(HERE.parent / "assets"))
    ap.add_argument("--minutes", type=float, default=50.0, help="training time budget")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="continue from cache/model.pt (same sizes)")
    args = ap.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    cache = pathlib.Path(args.cache)
    tunes = load_tunes(cache)
    train = [t for t in tunes if t["split"] == "train"]
    val = [t for t in tunes if t["split"] == "val"]
    norms = Corpus.norms_of(train)
    train_c, val_c = Corpus(train, norms), Corpus(val, norms)
    config = dict(vocab=tok.VOCAB_SIZE, d=args.d, layers=args.layers, heads=args.heads,
                  max_context=args.context, control=CONTROL_SIZE, dropout=0.1)
    model = MelodyModel(**config)
    previous = {"steps": 0, "tokens_seen": 0, "minutes": 0.0}
    if args.resume:
        ck = torch.load(cache / "model.pt")
        model.load_state_dict(ck["state"])
        # What the resumed model already went through: the checkpoint says, or else the sidecar of
        # the model it was exported as.
        sidecar = pathlib.Path(args.out) / "descant.json"
        if "training" in ck:
            previous = ck["training"]
        elif sidecar.is_file():
            previous = json.loads(sidecar.read_text()).get("training", previous)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(train)} train / {len(val)} val lines; model {params / 1e6:.2f} M parameters; "
          f"{'bf16 autocast' if AUTOCAST_DTYPE == torch.bfloat16 else 'fp32'}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05, betas=(0.9, 0.98))
    rng = random.Random(args.seed)
    budget = args.minutes * 60
    t0 = time.time()
    step, seen, best, best_state = 0, 0, float("inf"), None
    history = []
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        lr = args.lr * min(1.0, (step + 1) / 200) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        tokens, mask, controls = batch(train_c, args.batch, args.context, rng)
        with torch.autocast("cpu", dtype=AUTOCAST_DTYPE, enabled=AUTOCAST_DTYPE != torch.float32):
            loss, m = loss_of(model, tokens, mask, controls)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int(m)
        if step % 100 == 0 or time.time() - t0 >= budget:
            v = evaluate(model, val_c, args.context)
            el = time.time() - t0
            history.append((step, el, float(loss.detach()), v))
            print(f"step {step} {el:.0f}s train {float(loss):.3f} val {v:.3f} nats/token "
                  f"({v / math.log(2):.3f} bits) {seen / el:.0f} tok/s", flush=True)
            if v < best:
                best = v
                best_state = {k: x.detach().clone() for k, x in model.state_dict().items()}
    model.load_state_dict(best_state)
    train_minutes = (time.time() - t0) / 60
    total = {"steps": previous["steps"] + step, "tokens_seen": previous["tokens_seen"] + seen,
             "minutes": round(previous["minutes"] + train_minutes, 1)}
    torch.save({"config": config, "state": best_state, "norms": norms, "training": total}, cache / "model.pt")
    out = pathlib.Path(args.out)
    delta = export(model, out, config, {
        "attribute_norms": norms,
        "training": {**total,
                     "precision": "bf16 autocast" if AUTOCAST_DTYPE == torch.bfloat16 else "fp32",
                     "best_val_bits_per_token": round(best / math.log(2), 4), "seed": args.seed},
    })
    print(f"exported {out / 'descant.onnx'}; ONNX vs PyTorch max |dlogit| = {delta:.2e}; "
          f"best val {best / math.log(2):.3f} bits/token; {total['minutes']} min in all", flush=True)


if __name__ == "__main__":
    main()
