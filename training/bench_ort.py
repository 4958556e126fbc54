"""The Python side of `cargo xtask bench`: generation throughput of a plain Python ONNX Runtime
loop with the same model, thread settings, prompt and sampler settings as the Rust bench, and the
int8 (dynamic quantisation) copy of the model the Rust bench also times.

    python training/bench_ort.py --model assets/descant.onnx --out target/bench

Writes `out/python.json` ({"tokens_per_s": ..., "tokens": ..., "runs": ...}) and
`out/descant.int8.onnx`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
import onnxruntime as ort

import descant_tokens as tok
from sampling import sample

PROMPT = [tok.BOS, tok.METER_BASE, tok.BAR]  # then the phrase the Rust bench uses
TOKENS = 200
RUNS = 5


def prompt():
    notes = [(i * 6, 6, k) for i, k in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
    return tok.encode(notes, (4, 4))


def generate(sess, control, L, H, D, rng):
    pk = np.zeros((L, 1, H, 0, D), np.float32)
    pv = pk
    seq = list(prompt())
    logits = None
    for i, t in enumerate(seq):
        logits, pk, pv = sess.run(None, {"token": np.array([[t]], np.int64), "position": np.array([i], np.int64),
                                         "control": control, "past_key": pk, "past_value": pv})
    # Any token but padding and the sequence markers, as the Rust bench's loop.
    allowed = np.ones(logits.shape[-1], bool)
    allowed[[tok.PAD, tok.BOS, tok.EOS]] = False
    t0 = time.perf_counter()
    for _ in range(TOKENS):
        t = sample(logits[0], allowed, rng)
        logits, pk, pv = sess.run(None, {"token": np.array([[t]], np.int64), "position": np.array([len(seq)], np.int64),
                                         "control": control, "past_key": pk, "past_value": pv})
        seq.append(t)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(args.model, opts)
    shape = sess.get_inputs()[3].shape
    L, H, D = shape[0], shape[2], shape[4]
    control = np.zeros((1, sess.get_inputs()[2].shape[1]), np.float32)
    rng = np.random.default_rng(1)
    generate(sess, control, L, H, D, rng)  # warm-up
    secs = sum(generate(sess, control, L, H, D, rng) for _ in range(RUNS))
    result = {"tokens_per_s": TOKENS * RUNS / secs, "tokens": TOKENS, "runs": RUNS}
    (out / "python.json").write_text(json.dumps(result))
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(args.model, str(out / "descant.int8.onnx"), weight_type=QuantType.QInt8)
    print(f"python onnxruntime loop: {result['tokens_per_s']:.0f} tokens/s; wrote {out / 'descant.int8.onnx'}")


if __name__ == "__main__":
    main()
