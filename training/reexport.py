"""Exports an already-trained step model again, unchanged in its weights, with `train.export`'s
current graph, which takes any batch (docs/MODEL.md, "Batches"), so the engine
can step several candidates in one call. The sidecar keeps every field but the hash and the export
check; the new graph is checked against the old one token by token, in batch 1 and in a batch of
four different lines, before anything is written.

    training/.venv/bin/python training/reexport.py --model assets/descant.onnx --out assets

Needs torch (training/.venv); never in CI.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import shutil
import tempfile

import numpy as np
import onnxruntime as ort

import descant_tokens as tok
import train
from model import MelodyModel


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts)


def run_lines(sess, lines, control, L, H, D):
    """Logits of every position of `lines` (equal lengths), all stepped in one batch."""
    b = len(lines)
    pk = np.zeros((L, b, H, 0, D), np.float32)
    pv = pk
    out = []
    for i in range(len(lines[0])):
        logits, pk, pv = sess.run(None, {
            "token": np.array([[line[i]] for line in lines], np.int64),
            "position": np.full(b, i, np.int64),
            "control": np.repeat(control, b, axis=0), "past_key": pk, "past_value": pv})
        out.append(logits)
    return np.stack(out, axis=1)  # [B, T, V]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    args = ap.parse_args()
    sidecar = json.loads(args.model.with_suffix(".json").read_text())
    L, H, D = sidecar["layers"], sidecar["heads"], sidecar["head_dim"]
    config = dict(vocab=sidecar["vocab_size"], d=H * D, layers=L, heads=H,
                  max_context=sidecar["max_context"], control=sidecar["control"]["size"], dropout=0.0)
    model = MelodyModel(**config)
    train.init_from_onnx(model, args.model)
    model.eval()
    # Every field of the old sidecar but what the export measures anew.
    keep = {k: v for k, v in sidecar.items() if k not in ("sha256", "export_max_abs_logit_delta")}
    train.MODEL_NAME = sidecar["name"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        delta = train.export(model, tmp, config, keep)
        rng = random.Random(5)
        lines = [[tok.BOS, tok.METER_BASE, tok.BAR] + [rng.randrange(tok.POS_BASE, sidecar["vocab_size"])
                                                       for _ in range(60)] for _ in range(4)]
        control = np.zeros((1, config["control"]), np.float32)
        control[0, 2] = 1.0
        old, new = session(args.model), session(tmp / "descant.onnx")
        one = max(float(np.abs(run_lines(old, [ln], control, L, H, D) - run_lines(new, [ln], control, L, H, D)).max())
                  for ln in lines)
        batched = run_lines(new, lines, control, L, H, D)
        alone = np.concatenate([run_lines(old, [ln], control, L, H, D) for ln in lines])
        four = float(np.abs(batched - alone).max())
        print(f"old graph vs new, batch 1: max abs logit difference {one:.1e}; "
              f"a batch of 4 against each line alone: {four:.1e}; against PyTorch: {delta:.1e}")
        if max(one, four) > 1e-3:
            raise SystemExit("the new graph does not compute what the old one did; nothing written")
        args.out.mkdir(parents=True, exist_ok=True)
        name = args.model.stem
        shutil.copy(tmp / "descant.onnx", args.out / f"{name}.onnx")
        shutil.copy(tmp / "descant.json", args.out / f"{name}.json")
    print(f"wrote {args.out / (name + '.onnx')} and its sidecar")


if __name__ == "__main__":
    main()
