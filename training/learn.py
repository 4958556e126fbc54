"""Teaches Descant a musician's own melodies: fine-tunes a built-in model on the lines
`descant lines DIR --out LINES` found, with a new style slot "yours", and writes a model Descant
loads (`DESCANT_MODEL=OUT/descant.onnx`). The base is `descant-open` with DESCANT_DATA=open (what
`descant learn` does by default), else the non-commercial `descant`; the learned model carries its
base's terms on: "your own data" plus the base's (its sidecar's `licence` and `terms`, and its card).

    training/.venv/bin/python training/learn.py --lines LINES --out DIR [--name NAME]
                                               [--minutes 2] [--cache training/cache]

- Lines are split by file: about a tenth of the files are held out (at least one), never trained
  on; their bits per own token are measured before and after.
- The control vector gains a style column "yours" after the shipped styles (the attributes follow
  it, as the engine reads them by the sidecar's layout); it starts at zero, so before training the
  model plays the user's style as it plays "no style".
- Replay: when the corpus extraction is there (`--cache`), half of each batch is the corpus's own
  training lines and voice pairs, so the built-in styles are not forgotten.
- The attribute normalisation is the shipped model's (the same density or register means the same
  input), and so is the vocabulary.
- Everything is written to `OUT.partial/` and renamed to OUT at the end: an interrupted run leaves
  the previous model in place. OUT holds `descant.onnx`, `descant.json`, `descant.ngrams` (the
  shipped originality index, so the guard still keeps Descant from copying the corpus),
  `yours.ngrams` (the index of the user's own lines) and `MODEL_CARD.md`.
Never in CI: it needs torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pathlib
import random
import shutil
import time

import numpy as np

import extract

# The new style slot: appended to the shared list before the modules that size the control vector
# from it are imported.
YOURS = "yours"
if YOURS not in extract.STYLES:
    extract.STYLES.append(YOURS)

import torch  # noqa: E402

import ngram_index  # noqa: E402
import train  # noqa: E402
from corpus import CONTROL_SIZE, Corpus, load_tunes  # noqa: E402
from model import MelodyModel  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SHIPPED = HERE.parent / "assets" / f"{extract.STEM}.onnx"
# The shipped styles: their columns keep their places; the attributes move one to the right.
OLD_STYLES = len(extract.STYLES) - 1


def carried_terms(base: dict) -> tuple[str, str]:
    """The terms and licence line of a model learned from the user's own melodies on top of the
    model whose sidecar is `base`: the user's data, and the base's terms."""
    terms = base.get("terms") or ("non-commercial" if "non-commercial" in base.get("licence", "").lower()
                                  else "unstated")
    said = {"open": "You may use what it plays in released music",
            "non-commercial": "Non-commercial use only"}.get(terms, "Terms not stated: ask whoever made it")
    return terms, (f"{said}: learned from your own data on top of {base['name']}, whose terms it "
                   f"keeps ({base.get('licence', 'no licence stated')})")


def read_lines(path: pathlib.Path):
    """The user's lines as tunes (the extraction's record format), style "yours", split by file."""
    tunes = []
    for i, text in enumerate(path.read_text().splitlines()):
        line = json.loads(text)
        notes = [tuple(n) for n in line["notes"]]
        t = extract.record(f"yours/{line['file']}#{line['channel']}", "yours", YOURS, line["meter"], notes)
        digest = hashlib.sha256(line["file"].encode()).digest()[0]
        t["split"] = "val" if digest % 10 == 0 else "train"
        tunes.append(t)
    if tunes and not any(t["split"] == "val" for t in tunes):
        tunes[-1]["split"] = "val"  # at least one file held out
    return tunes


def remap_control(model):
    """After `train.init_from_onnx` copied the old control columns in order, move the attributes'
    columns one to the right, past the new style column, which starts at zero."""
    with torch.no_grad():
        w = model.ctl.weight  # [d, control]
        old_attrs = w[:, OLD_STYLES : CONTROL_SIZE - 1].clone()
        w[:, OLD_STYLES + 1 :] = old_attrs
        w[:, OLD_STYLES] = 0.0


@torch.no_grad()
def held_out_bits(model, corpus, context):
    """Bits per own token over every held-out line, from its first bar, style "yours" on."""
    model.eval()
    rng = random.Random(0)
    total, count = 0.0, 0
    for t in corpus.singles:
        seq, roles, voice = corpus.window2(t, [], context + 1, 0, 0, rng, False)
        own = np.asarray(roles) == train.tok.ROLE_OWN
        ctl = corpus.control(t, 0, 0.0, rng, voice)
        toks = torch.tensor([seq])
        _, per = train.loss_of(model, toks, torch.from_numpy(own[None].astype(np.float32)), torch.from_numpy(ctl[None]))
        m = torch.from_numpy(own[None, 1:])
        total += float(per[m].sum())
        count += int(m.sum())
    model.train()
    return total / max(count, 1) / math.log(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", required=True, type=pathlib.Path)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--name", default=None)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--cache", type=pathlib.Path, default=HERE / "cache")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-4)
    args = ap.parse_args()
    name = args.name or args.out.name
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    shipped = json.loads(SHIPPED.with_suffix(".json").read_text())
    norms = shipped["attribute_norms"]
    yours = read_lines(args.lines)
    held = [t for t in yours if t["split"] == "val"]
    mine = [t for t in yours if t["split"] == "train"]
    replay = []
    if (args.cache / "tunes.jsonl.gz").is_file():
        replay = [t for t in load_tunes(args.cache) if t["split"] == "train"]
    # The user's lines are few: repeat them so that they are about half of what is drawn.
    repeat = max(1, round(len(replay) / max(len(mine), 1))) if replay else 1
    train_c = Corpus(mine * repeat + replay, norms)
    held_c = Corpus(held, norms)
    print(f"{len(mine)} lines to learn from, {len(held)} held out; replay: "
          f"{len(replay)} corpus lines" if replay else f"{len(mine)} lines to learn from, {len(held)} "
          "held out; no corpus extraction to replay (the built-in styles may drift)", flush=True)

    config = dict(vocab=train.tok.VOCAB_SIZE, d=shipped["heads"] * shipped["head_dim"], layers=shipped["layers"],
                  heads=shipped["heads"], max_context=shipped["max_context"], control=CONTROL_SIZE, dropout=0.1)
    model = MelodyModel(**config)
    train.init_from_onnx(model, SHIPPED)
    remap_control(model)
    before = held_out_bits(model, held_c, config["max_context"])
    print(f"held-out bits per own token before: {before:.3f}", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05, betas=(0.9, 0.98))
    rng = random.Random(args.seed)
    budget = args.minutes * 60
    t0 = time.time()
    step, best, best_state = 0, before, {k: x.detach().clone() for k, x in model.state_dict().items()}
    pairs = 0.25 if train_c.pieces else 0.0
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        tokens, weights, _, controls = train.batch(train_c, 16, config["max_context"], rng, pairs, 0.25)
        loss, _ = train.loss_of(model, tokens, weights, controls)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or time.time() - t0 >= budget:
            bits = held_out_bits(model, held_c, config["max_context"])
            left = max(0.0, budget - (time.time() - t0))
            print(f"step {step}: held-out {bits:.3f} bits per own token; {left:.0f} s left", flush=True)
            if bits < best:
                best, best_state = bits, {k: x.detach().clone() for k, x in model.state_dict().items()}
    model.load_state_dict(best_state)

    partial = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    train.MODEL_NAME = name
    terms, licence = carried_terms(shipped)
    delta = train.export(model, partial, config, {
        "licence": licence,
        "terms": terms,
        "attribute_norms": norms,
        "training": {**shipped.get("training", {}), "learned": {
            "from": shipped["name"], "lines": len(mine), "held_out_lines": len(held), "steps": step,
            "minutes": round(budget / 60, 1), "replay_lines": len(replay),
            "held_out_bits_per_own_token": {"before": round(before, 4), "after": round(best, 4)}}},
    })
    if extract.STEM != "descant":
        # Descant loads a model folder's `descant.onnx` (`catalog::scan`, `descant learn`).
        for ext in (".onnx", ".json"):
            (partial / f"{extract.STEM}{ext}").rename(partial / f"descant{ext}")
    shutil.copy(SHIPPED.with_suffix(".ngrams"), partial / "descant.ngrams")
    (partial / "yours.ngrams").write_bytes(ngram_index.build(ngram_index.distinctive_ngrams(mine)))
    notes = sum(len(t["notes"]) for t in yours)
    (partial / "MODEL_CARD.md").write_text(
        f"# {name}\n\nDescant's model `{shipped['name']}`, fine-tuned on your own melodies with the new style "
        f"\"yours\" ({time.strftime('%Y-%m-%d')}).\n\n"
        f"| | |\n|---|---|\n| lines | {len(mine)} learned from, {len(held)} held out ({notes} notes) |\n"
        f"| training | {step} steps, {budget / 60:.1f} min, replaying {len(replay)} corpus lines |\n"
        f"| held-out bits per own token | {before:.3f} before, {best:.3f} after |\n"
        f"| export | ONNX vs PyTorch max abs logit difference {delta:.1e} |\n\n"
        f"{licence}\n")
    shutil.rmtree(args.out, ignore_errors=True)
    partial.rename(args.out)
    print(f"wrote {args.out}: held-out bits per own token {before:.3f} -> {best:.3f} "
          f"in {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
