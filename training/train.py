"""Trains Descant's two-voice model on the extracted corpus and exports it to the step contract v2.

    python training/train.py [--minutes 50] [--out assets] [--cache training/cache]
                             [--init-onnx M | --from-scratch]

Reads `cache/tunes.jsonl.gz` (from extract.py). Each batch takes random windows that start on a bar
line, in the two-voice grammar (descant_tokens.encode2: BOS METER BAR [PHRASE] heard OWN own ...),
transposed by a random interval per sequence (augmentation per batch, not all keys up front). A
share `--pairs` of the windows are voice pairs (corpus.pick_pair), the rest single lines with
nothing heard. Phrase marks are in half of the windows, so a model also plays without them.
The loss weighs Descant's own tokens 1, heard tokens `--heard-weight` (the model learns to expect
the player, but its capacity goes to its own line) and phrase marks 0.5. The control vector is the
style one-hot, then density, register, mode and voice; each part is dropped to zero at random, so a
zero control means "unconditioned". It starts from an exported model's weights (`--init-onnx`, by
default Descant 0.2's single-line model in tests/fixtures/: its embeddings and output rows are
kept, the new tokens start from the pitch rows) at learning rate 1e-3, or from random weights
(`--from-scratch`) at 2e-3. Keeps the checkpoint with the best
validation loss (early stopping), exports `descant.onnx` with the KV-cache step graph, checks it
against PyTorch with ONNX Runtime (max |Δlogit| is printed and written to the sidecar), and writes
the sidecar `descant.json`.

With `DESCANT_DATA=open` in the environment (`cargo xtask train --data open`) it trains
`descant-open` instead: only the open sources' lines (`extract.OPEN_SOURCES`, docs/DATA.md), one
style slot, from random weights (the 0.2 model learned from Essen, so it cannot be the start), and
exports `descant-open.onnx` / `descant-open.json`. Those sources have no voice pairs: the `--pairs`
share of windows are then a tune heard as its own call and its consequent as Descant's line
(corpus.call_and_answer).
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
from corpus import ATTRIBUTES, CONTROL_SIZE, Corpus, call_and_answer, load_tunes, loss_weights, pick_pair  # noqa: F401 (re-exported)
from extract import DATA, STEM, STYLES
from model import MelodyModel, StepGraph

# The name the sidecar (and the editor) gives the model; bump it with each shipped retraining.
MODEL_NAME = {"all": "descant-duet-v3", "open": "descant-open-v1"}[DATA]
# The licence line every model trained on this data carries in its sidecar, and its terms in one
# word (`"non-commercial"` or `"open"`): the editor, the Model list and `descant models` show them.
LICENCE = {
    "all": ("Non-commercial use only: it learned from the Essen collection, licensed for "
            "non-commercial use (see MODEL_CARD.md)."),
    "open": ("You may use what it plays in released music: it learned only from public-domain "
             "collections whose transcriptions carry no restriction (see docs/DATA.md)."),
}[DATA]
TERMS = {"all": "non-commercial", "open": "open"}[DATA]
# The training checkpoint in the cache (one per data set, so the two never overwrite each other).
CHECKPOINT = {"all": "model", "open": "model-open"}[DATA]

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


def one_window(corpus, max_len, rng, pairs, heard_weight, train=True, start_bar=None):
    """(tokens, weights, own mask, control) of one random window."""
    paired = rng.random() < pairs
    pair = pick_pair(corpus.pieces, rng) if corpus.pieces and paired else None
    call = None
    if paired and not corpus.pieces:
        # No voice pairs in this data: a tune's call heard, its consequent its own.
        call = call_and_answer(corpus.singles, rng)
        if call:
            start_bar = call[2]
    own, heard = call[:2] if call else pair if pair else (rng.choice(corpus.singles), [])
    keys = [k for line in [own, *heard] for _, _, k in line["notes"]]
    lo, hi = tok.PITCH_LOW - min(keys), tok.PITCH_HIGH - max(keys)
    shift = rng.randint(max(-6, lo), min(5, hi)) if train and lo <= hi else 0
    phrases = train and rng.random() < 0.5
    seq, roles, voice = corpus.window2(own, heard, max_len, shift, start_bar, rng, phrases)
    weights = loss_weights(roles, heard_weight)
    # A call and its answer are one line: neither above nor below.
    control = corpus.control(own, shift, 0.2 if train else 0.0, rng, 0.0 if call else voice)
    return seq, weights, np.asarray(roles) == tok.ROLE_OWN, control


def batch(corpus, size, max_len, rng, pairs, heard_weight, train=True):
    tokens = np.zeros((size, max_len + 1), np.int64)
    weights = np.zeros((size, max_len + 1), np.float32)
    own = np.zeros((size, max_len + 1), bool)
    controls = np.zeros((size, CONTROL_SIZE), np.float32)
    for i in range(size):
        seq, w, o, c = one_window(corpus, max_len + 1, rng, pairs, heard_weight, train)
        tokens[i, : len(seq)] = seq
        weights[i, : len(seq)] = w
        own[i, : len(seq)] = o
        controls[i] = c
    return torch.from_numpy(tokens), torch.from_numpy(weights), torch.from_numpy(own), torch.from_numpy(controls)


def loss_of(model, tokens, weights, controls):
    """Weighted mean loss over the targets, and the per-target losses (nats)."""
    logits = model(tokens[:, :-1], controls)
    target = tokens[:, 1:]
    w = weights[:, 1:].reshape(-1)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
    return (loss * w).sum() / w.sum(), loss.detach().view(target.shape)


@torch.no_grad()
def evaluate(model, corpus, max_len, seed=0, n=256):
    """Mean loss (nats) per own token over fixed windows: single lines from their first bar, and
    as many voice-pair windows (a fixed draw), without phrase marks. Returns (singles, pairs)."""
    model.eval()
    rng = random.Random(seed)
    out = []
    for pairs in (0.0, 1.0):
        total, count = 0.0, 0
        for i in range(0, n, 32):
            rows = [one_window(corpus, max_len + 1, rng, pairs, 0.0, False, 0) for _ in range(min(32, n - i))]
            toks = np.zeros((len(rows), max_len + 1), np.int64)
            own = np.zeros_like(toks, dtype=bool)
            ctl = np.stack([r[3] for r in rows])
            for j, (seq, _, o, _) in enumerate(rows):
                toks[j, : len(seq)] = seq
                own[j, : len(seq)] = o
            with torch.autocast("cpu", dtype=AUTOCAST_DTYPE, enabled=AUTOCAST_DTYPE != torch.float32):
                _, per = loss_of(model, torch.from_numpy(toks), torch.from_numpy(own.astype(np.float32)), torch.from_numpy(ctl))
            m = torch.from_numpy(own[:, 1:])
            total += float(per[m].sum())
            count += int(m.sum())
        out.append(total / max(count, 1))
    model.train()
    return tuple(out)


def export(model, out: pathlib.Path, config, extra_sidecar):
    # The wrapper must be in eval mode too: export restores its mode afterwards, recursively.
    graph = StepGraph(model).eval()
    L, H = config["layers"], config["heads"]
    D = config["d"] // H
    past = torch.zeros(L, 1, H, 1, D)
    args = (torch.tensor([[tok.BOS]]), torch.tensor([1]), torch.zeros(1, CONTROL_SIZE), past, past)
    onnx_path = out / f"{STEM}.onnx"
    torch.onnx.export(
        graph, args, str(onnx_path), dynamo=False, opset_version=17,
        input_names=["token", "position", "control", "past_key", "past_value"],
        output_names=["logits", "present_key", "present_value"],
        # The batch axis is free too: the engine steps one candidate (batch 1) or several at once.
        dynamic_axes={"token": {0: "batch"}, "position": {0: "batch"}, "control": {0: "batch"},
                      "past_key": {1: "batch", 3: "past"}, "past_value": {1: "batch", 3: "past"},
                      "logits": {0: "batch"},
                      "present_key": {1: "batch", 3: "present"}, "present_value": {1: "batch", 3: "present"}},
    )
    data = onnx_path.read_bytes()
    max_delta = verify(model, onnx_path, config)
    sidecar = {
        "contract": "descant-step", "contract_version": 2, "name": MODEL_NAME, "trained": True,
        # The picker shows this line (inference/src/files/catalog.rs); the corpus's Essen licence holds.
        "licence": LICENCE,
        "terms": TERMS,
        "vocab_size": tok.VOCAB_SIZE, "ticks_per_beat": tok.TICKS_PER_BEAT,
        "max_context": config["max_context"], "layers": L, "heads": H, "head_dim": D,
        "control": {"size": CONTROL_SIZE, "styles": STYLES, "attributes": ATTRIBUTES},
        "vocab": tok.vocab_layout(),
        "export_max_abs_logit_delta": max_delta,
        **extra_sidecar,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out / f"{STEM}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
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
    # The last style slot and an attribute (the second: register), whatever the layout.
    control[0, len(STYLES) - 1] = 1.0
    control[0, len(STYLES) + 1] = 0.5
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


def init_from_onnx(model, path: pathlib.Path):
    """Copies an exported model's weights into `model` (same d, layers and context; the vocabulary
    and control may have grown). Rows of tokens the old model lacks start from the pitch rows
    (HEARD) or stay as initialised (OWN, PHRASE); a new control column starts at zero."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(path)).graph
    named = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    # The exporter names the Linear weights by number, in graph order: control, then per block
    # qkv, proj, mlp.0, mlp.2, then the head; all stored transposed.
    matmuls = [named[n] for n in sorted((n for n in named if n.startswith("onnx::MatMul_")),
                                         key=lambda n: int(n.rsplit("_", 1)[1]))]
    sd = model.state_dict()
    with torch.no_grad():
        for name, arr in named.items():
            if name.startswith("m.") and name[2:] in sd and name[2:] not in ("tok.weight",):
                sd[name[2:]].copy_(torch.from_numpy(arr))
        old_vocab = named["m.tok.weight"].shape[0]
        tok_w, head_w = sd["tok.weight"], sd["head.weight"]
        tok_w[:old_vocab] = torch.from_numpy(named["m.tok.weight"])
        ctl = torch.from_numpy(matmuls[0]).T  # [d, old control]
        sd["ctl.weight"].zero_()
        sd["ctl.weight"][:, : ctl.shape[1]] = ctl
        for b in range(len(model.blocks)):
            for j, lin in enumerate(("qkv", "proj", "mlp.0", "mlp.2")):
                sd[f"blocks.{b}.{lin}.weight"].copy_(torch.from_numpy(matmuls[1 + 4 * b + j]).T)
        head_w.zero_()
        head_w[:old_vocab] = torch.from_numpy(matmuls[-1]).T
        n_keys = tok.PITCH_HIGH - tok.PITCH_LOW + 1
        if old_vocab <= tok.HEARD_BASE:
            tok_w[tok.HEARD_BASE : tok.HEARD_BASE + n_keys] = tok_w[tok.PITCH_BASE : tok.PITCH_BASE + n_keys]
            head_w[tok.HEARD_BASE : tok.HEARD_BASE + n_keys] = head_w[tok.PITCH_BASE : tok.PITCH_BASE + n_keys]
            tok_w[tok.OWN :] = 0.02 * torch.randn_like(tok_w[tok.OWN :])
    model.load_state_dict(sd)
    return old_vocab


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--out", default=str(HERE.parent / "assets"))
    ap.add_argument("--minutes", type=float, default=50.0, help="training time budget")
    ap.add_argument("--pairs", type=float, default=0.5, help="share of windows that are voice pairs")
    ap.add_argument("--heard-weight", type=float, default=0.25, help="loss weight of heard tokens")
    ap.add_argument("--init-onnx", default=str(HERE.parent / "tests" / "fixtures" / "descant-melody-v2.onnx"),
                    help="start from this exported model's weights")
    ap.add_argument("--from-scratch", action="store_true", help="start from random weights")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (1e-3 from a model, 2e-3 from scratch)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="continue from cache/model.pt (model-open.pt with DESCANT_DATA=open; same sizes)")
    args = ap.parse_args()
    if DATA == "open" and args.init_onnx and not args.resume and not args.from_scratch:
        # The 0.2 model learned from Essen: an open model must not start from it.
        args.from_scratch = True
    if args.from_scratch or args.resume:
        args.init_onnx = ""
    if args.lr is None:
        args.lr = 1e-3 if args.init_onnx else 2e-3
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
        ck = torch.load(cache / f"{CHECKPOINT}.pt")
        model.load_state_dict(ck["state"])
        # What the resumed model already went through: the checkpoint says, or else the sidecar of
        # the model it was exported as.
        sidecar = pathlib.Path(args.out) / f"{STEM}.json"
        if "training" in ck:
            previous = ck["training"]
        elif sidecar.is_file():
            previous = json.loads(sidecar.read_text()).get("training", previous)
    if args.init_onnx:
        old = init_from_onnx(model, pathlib.Path(args.init_onnx))
        # What the starting model went through counts: its sidecar says.
        init_sidecar = pathlib.Path(args.init_onnx).with_suffix(".json")
        init_meta = json.loads(init_sidecar.read_text()) if init_sidecar.is_file() else {}
        before = init_meta.get("training", {})
        previous = {"steps": before.get("steps", 0), "tokens_seen": before.get("tokens_seen", 0),
                    "minutes": before.get("minutes", 0.0),
                    "init": f"{init_meta.get('name', pathlib.Path(args.init_onnx).name)} (vocab {old})"}
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(train_c.singles)} single lines and {len(train_c.pieces)} pieces with voice pairs in train, "
          f"{len(val_c.singles)} / {len(val_c.pieces)} in val; model {params / 1e6:.2f} M parameters; "
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
        tokens, weights, own, controls = batch(train_c, args.batch, args.context, rng, args.pairs, args.heard_weight)
        with torch.autocast("cpu", dtype=AUTOCAST_DTYPE, enabled=AUTOCAST_DTYPE != torch.float32):
            loss, _ = loss_of(model, tokens, weights, controls)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int((weights > 0).sum())
        if step % 100 == 0 or time.time() - t0 >= budget:
            v_single, v_pair = evaluate(model, val_c, args.context)
            v = (v_single + v_pair) / 2
            el = time.time() - t0
            history.append((step, el, float(loss.detach()), v_single, v_pair))
            print(f"step {step} {el:.0f}s train {float(loss):.3f} val own-token bits: single lines "
                  f"{v_single / math.log(2):.3f}, voice pairs {v_pair / math.log(2):.3f}; {seen / el:.0f} tok/s", flush=True)
            if v < best:
                best, best_parts = v, (v_single, v_pair)
                best_state = {k: x.detach().clone() for k, x in model.state_dict().items()}
                # A checkpoint at every improvement: a stopped session loses little.
                torch.save({"config": config, "state": best_state, "norms": norms, "step": step}, cache / f"{CHECKPOINT}.partial.pt")
    model.load_state_dict(best_state)
    train_minutes = (time.time() - t0) / 60
    total = {"steps": previous["steps"] + step, "tokens_seen": previous["tokens_seen"] + seen,
             "minutes": round(previous["minutes"] + train_minutes, 1),
             **({"started_from": previous["init"]} if "init" in previous else {})}
    torch.save({"config": config, "state": best_state, "norms": norms, "training": total}, cache / f"{CHECKPOINT}.pt")
    out = pathlib.Path(args.out)
    delta = export(model, out, config, {
        "attribute_norms": norms,
        "training": {**total,
                     "precision": "bf16 autocast" if AUTOCAST_DTYPE == torch.bfloat16 else "fp32",
                     "best_val_bits_per_own_token": {"single_lines": round(best_parts[0] / math.log(2), 4),
                                                     "voice_pairs": round(best_parts[1] / math.log(2), 4)},
                     "pairs": args.pairs, "heard_weight": args.heard_weight, "seed": args.seed},
    })
    print(f"exported {out / (STEM + '.onnx')}; ONNX vs PyTorch max |dlogit| = {delta:.2e}; "
          f"best val {best / math.log(2):.3f} bits/own token; {total['minutes']} min in all", flush=True)


if __name__ == "__main__":
    main()
