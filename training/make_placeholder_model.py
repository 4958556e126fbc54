"""Writes Descant's untrained placeholder: a random-weight step model with the exact contract v1.

    python3 training/make_placeholder_model.py [--out target/placeholder] [--seed 7]

It made the first shipped model, so the whole plugin path (ONNX Runtime, KV cache, sampler,
scheduler) ran for real before the trained model landed; it stays as a small, fast contract fixture. The graph is a small pre-norm decoder-only transformer, one token per call,
built op by op with the `onnx` package (no torch needed). See docs/MODEL.md for the contract.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import descant_tokens as tok

CONTRACT = "descant-step"
CONTRACT_VERSION = 1
STYLES = ["folk-european", "folk-chinese", "irish-scottish", "chorale", "renaissance"]
ATTRIBUTES = ["density", "register", "mode"]


def build(layers=2, heads=4, head_dim=16, max_context=256, seed=7):
    rng = np.random.default_rng(seed)
    d_model = heads * head_dim
    control_size = len(STYLES) + len(ATTRIBUTES)
    inits, nodes = [], []

    def weight(name, shape, std):
        inits.append(numpy_helper.from_array(rng.normal(0.0, std, shape).astype(np.float32), name))
        return name

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    ones = const("ones", np.ones(d_model, np.float32))
    zeros = const("zeros", np.zeros(d_model, np.float32))
    shape_heads = const("shape_heads", np.array([1, 1, heads, head_dim], np.int64))
    shape_model = const("shape_model", np.array([1, 1, d_model], np.int64))
    shape_logits = const("shape_logits", np.array([1, tok.VOCAB_SIZE_V1], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))

    x_tok = node("Gather", [weight("tok_emb", (tok.VOCAB_SIZE_V1, d_model), 0.5), "token"], "x_tok")
    x_pos = node("Gather", [weight("pos_emb", (max_context, d_model), 0.1), "position"], "x_pos")
    x_ctl = node("MatMul", ["control", weight("ctl_w", (control_size, d_model), 0.1)], "x_ctl")
    x = node("Add", [node("Add", [x_tok, x_pos], "x_tp"), x_ctl], "x0")

    presents_k, presents_v = [], []
    for l in range(layers):
        p = f"l{l}_"
        h = node("LayerNormalization", [x, ones, zeros], p + "ln1", axis=-1)

        def heads_of(name):
            proj = node("MatMul", [h, weight(p + "w" + name, (d_model, d_model), 0.2)], p + name)
            r = node("Reshape", [proj, shape_heads], p + name + "_r")
            return node("Transpose", [r], p + name + "_t", perm=[0, 2, 1, 3])

        q, k, v = heads_of("q"), heads_of("k"), heads_of("v")
        idx = const(p + "idx", np.array(l, np.int64))
        past_k = node("Gather", ["past_key", idx], p + "past_k", axis=0)
        past_v = node("Gather", ["past_value", idx], p + "past_v", axis=0)
        all_k = node("Concat", [past_k, k], p + "all_k", axis=2)
        all_v = node("Concat", [past_v, v], p + "all_v", axis=2)
        presents_k.append(node("Unsqueeze", [all_k, const(p + "ax0k", np.array([0], np.int64))], p + "pk"))
        presents_v.append(node("Unsqueeze", [all_v, const(p + "ax0v", np.array([0], np.int64))], p + "pv"))
        kt = node("Transpose", [all_k], p + "kt", perm=[0, 1, 3, 2])
        scores = node("Mul", [node("MatMul", [q, kt], p + "qk"), scale], p + "scores")
        probs = node("Softmax", [scores], p + "probs", axis=-1)
        att = node("MatMul", [probs, all_v], p + "att")
        att = node("Transpose", [att], p + "att_t", perm=[0, 2, 1, 3])
        att = node("Reshape", [att, shape_model], p + "att_r")
        x = node("Add", [x, node("MatMul", [att, weight(p + "wo", (d_model, d_model), 0.2)], p + "o")], p + "x1")
        h2 = node("LayerNormalization", [x, ones, zeros], p + "ln2", axis=-1)
        m = node("Relu", [node("MatMul", [h2, weight(p + "w1", (d_model, 4 * d_model), 0.2)], p + "m1")], p + "m1r")
        x = node("Add", [x, node("MatMul", [m, weight(p + "w2", (4 * d_model, d_model), 0.1)], p + "m2")], p + "x2")

    nodes.append(helper.make_node("Concat", presents_k, ["present_key"], name="present_key", axis=0))
    nodes.append(helper.make_node("Concat", presents_v, ["present_value"], name="present_value", axis=0))
    hf = node("LayerNormalization", [x, ones, zeros], "ln_f", axis=-1)
    logits3 = node("MatMul", [hf, weight("head", (d_model, tok.VOCAB_SIZE_V1), 0.6)], "logits3")
    nodes.append(helper.make_node("Reshape", [logits3, shape_logits], ["logits"], name="logits"))

    kv = [layers, 1, heads, "past", head_dim]
    kv_out = [layers, 1, heads, "present", head_dim]
    graph = helper.make_graph(
        nodes,
        "descant_step_v1_placeholder",
        [
            helper.make_tensor_value_info("token", TensorProto.INT64, [1, 1]),
            helper.make_tensor_value_info("position", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("control", TensorProto.FLOAT, [1, control_size]),
            helper.make_tensor_value_info("past_key", TensorProto.FLOAT, kv),
            helper.make_tensor_value_info("past_value", TensorProto.FLOAT, kv),
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, tok.VOCAB_SIZE_V1]),
            helper.make_tensor_value_info("present_key", TensorProto.FLOAT, kv_out),
            helper.make_tensor_value_info("present_value", TensorProto.FLOAT, kv_out),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="descant")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    sidecar = {
        "contract": CONTRACT,
        "contract_version": CONTRACT_VERSION,
        "name": "descant-placeholder",
        "trained": False,
        "vocab_size": tok.VOCAB_SIZE_V1,
        "ticks_per_beat": tok.TICKS_PER_BEAT,
        "max_context": max_context,
        "layers": layers,
        "heads": heads,
        "head_dim": head_dim,
        "control": {"size": control_size, "styles": STYLES, "attributes": ATTRIBUTES},
        "vocab": tok.vocab_layout_v1(),
    }
    return model, sidecar


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent / "target" / "placeholder"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model, sidecar = build(seed=args.seed)
    data = model.SerializeToString()
    (out / "descant.onnx").write_bytes(data)
    sidecar["sha256"] = hashlib.sha256(data).hexdigest()
    (out / "descant.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"wrote {out / 'descant.onnx'} ({len(data)} bytes) and descant.json")


if __name__ == "__main__":
    main()
