"""Writes assets/MODEL_CARD.md from the sidecar (assets/descant.json), the extraction cache and the
evaluation (cache/eval.json); with DESCANT_DATA=open, assets/MODEL_CARD-open.md for descant-open
(assets/descant-open.json, cache/eval-descant-open.json).

    python training/model_card.py [--cache training/cache] [--assets assets]
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib

from evaluate import INT8_TOLERANCE
from extract import DATA, STEM, STYLES
from corpus import load_tunes

HERE = pathlib.Path(__file__).resolve().parent

SOURCES = {
    "essenFolksong": "Essen Folksong Collection (ABC) — permitted for non-commercial use only",
    "oneills1850": "O'Neill's Music of Ireland (1903, \"the 1850\") — public-domain source",
    "ryansMammoth": "Ryan's Mammoth Collection (1883) — public-domain source",
    "airdsAirs": "Aird's Selection of Scotch, English, Irish and Foreign Airs — public-domain source",
    "miscFolk": ("music21 misc. folk (ABC) — public-domain tunes" if DATA == "all" else
                 "Northumbrian Minstrelsy (1882), ABC by Jack Campin — public-domain source (the "
                 "American fife file is left out: its source edition is unknown)"),
    "bach": "J. S. Bach chorales (MusicXML, every voice) — public-domain music; encodings from music21",
    "palestrina": "Palestrina (Humdrum) — encodings marked 'rights reserved'",
    "trecento": "Trecento (MusicXML) — encodings from music21",
    "monteverdi": "Monteverdi madrigals (MusicXML) — encodings from music21",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(HERE / "cache"))
    ap.add_argument("--assets", default=str(HERE.parent / "assets"))
    args = ap.parse_args()
    cache, assets = pathlib.Path(args.cache), pathlib.Path(args.assets)
    side = json.loads((assets / f"{STEM}.json").read_text())
    ev = json.loads((cache / ("eval.json" if DATA == "all" else f"eval-{STEM}.json")).read_text())
    tunes = load_tunes(cache)
    by = collections.Counter((t["source"], t["split"]) for t in tunes)
    styles = collections.Counter(t["style"] for t in tunes)
    tr = side["training"]
    size = (assets / f"{STEM}.onnx").stat().st_size
    int8 = assets / f"{STEM}.int8.onnx"
    lines = [
        f"# Model card: {side['name']}",
        "",
        "Descant's two-voice melody model: a decoder-only transformer over the two-voice token grammar",
        "(v2, `docs/MODEL.md`): each bar first says what Descant hears (the player's and the track's",
        "notes), then Descant's own notes. It is conditioned on a style mixture and attribute targets",
        "(density, register, mode, voice above or below) through its control vector, and exported as the",
        "KV-cache step graph of contract v2.",
        "",
        *(["**Non-commercial use only.** It learned from the Essen collection, licensed for non-commercial",
           "use; what it plays is for non-commercial music. `descant-open` (`MODEL_CARD-open.md`) is the one",
           "whose output you may release.", ""] if DATA == "all" else
          ["**You may use what it plays in released music.** It learned only from public-domain",
           "collections whose transcriptions carry no restriction; `docs/DATA.md` cites each source's",
           "terms. It is Descant's default model.", ""]),
        "## Data",
        "",
        "Melodic lines from the corpus shipped inside the `music21` package (10.5.1); nothing is",
        "downloaded. ABC is read with ABC 2.1 semantics. " + (
            "Single lines: every folk tune, every renaissance voice and the chorales' soprano, with nothing "
            "heard. Voice pairs: within each chorale and renaissance piece, one voice is Descant's and one, "
            "several or all of the others are heard (a part that doubles the sung voice is never heard "
            "against it)." if DATA == "all" else
            "Only the open collections of `docs/DATA.md`: single lines, every one a fiddle, pipe or song tune "
            "of Ireland, Scotland or Northumbria. They hold no voice pairs: in half the training windows a "
            "tune's first phrase is heard, as a player's call is, and the rest of the tune is Descant's own "
            "line (`corpus.call_and_answer`)."),
        "Split 90 % train, 5 % validation, 5 % test by a",
        "hash of each line's *group*: the voices of one piece, and lines whose first 16 notes have the",
        "same intervals and rhythm in any key (variants of one folk tune), always share a split, so no",
        "held-out line has a near-copy in training.",
        "",
        "| source | licence / provenance | train | val | test |",
        "|---|---|---|---|---|",
    ]
    for src, text in SOURCES.items():
        if any(by[(src, s)] for s in ("train", "val", "test")):
            lines.append(f"| {src} | {text} | {by[(src, 'train')]} | {by[(src, 'val')]} | {by[(src, 'test')]} |")
    lines += [
        "",
        "Lines per style: " + ", ".join(f"{s} {styles[s]}" for s in STYLES) + ".",
        "",
        *(["**Because the Essen collection is licensed for non-commercial use only, this model may be used",
           "for non-commercial purposes only.** Palestrina encodings are marked 'rights reserved'."]
          if DATA == "all" else
          ["**You may use what it plays in released music.** Its splits are the whole corpus's, so the",
           "non-commercial model's held-out tunes are held out here too."]),
        "",
        "## Model",
        "",
        f"| | |\n|---|---|\n| layers × heads × head size | {side['layers']} × {side['heads']} × {side['head_dim']} |",
        f"| context | {side['max_context']} tokens |",
        f"| control | {side['control']['size']}: styles {', '.join(side['control']['styles'])}; then {', '.join(side['control']['attributes'])} |",
        f"| file | `{STEM}.onnx`, {size / 1e6:.1f} MB, fp32, opset 17 (embedded in the plugin) |",
        *([f"| int8 copy | `{int8.name}`, {int8.stat().st_size / 1e6:.1f} MB, "
           "dynamic int8 quantisation; shipped because its held-out bits per token stay within "
           f"{INT8_TOLERANCE} of fp32 (table below); load it with `DESCANT_MODEL=path/to/{int8.name}` |"]
          if int8.is_file() else []),
        f"| export check | ONNX Runtime vs PyTorch on a fixed sequence: max abs logit difference {side['export_max_abs_logit_delta']:.1e} |",
        f"| training | {tr['steps']} steps, {tr['tokens_seen'] / 1e6:.1f} M tokens seen, {tr['minutes']} min in all on 2 CPU cores ({tr.get('precision', 'fp32')}), seed {tr['seed']}"
        + (f"; started from {tr['started_from']}" if tr.get("started_from") else "")
        + (f"; best validation bits per own token: single lines {tr['best_val_bits_per_own_token']['single_lines']}, "
           + ("voice pairs" if DATA == "all" else "calls answered")
           + f" {tr['best_val_bits_per_own_token']['voice_pairs']}"
           if "best_val_bits_per_own_token" in tr else f"; best validation {tr.get('best_val_bits_per_token')} bits/token") + " |",
        "",
        "Each batch takes random windows that start on a bar line, transposed by a random interval",
        f"(augmentation per batch); {tr.get('pairs', 0):.0%} of them are "
        + ("voice pairs" if DATA == "all" else "a tune heard as its own call, its continuation Descant's line")
        + ". The loss weighs Descant's own",
        f"tokens 1, heard tokens {tr.get('heard_weight', 0)} (the model learns to expect the player, its capacity goes",
        "to its own line) and phrase marks 0.5; phrase marks (fermatas, section bar lines, line ends)",
        "are in half the windows. Each part of the control vector is dropped to zero with probability",
        "0.2, so an all-zero control means \"unconditioned\". Residual dropout 0.1 (none on the attention",
        "weights, which would force PyTorch's slow unfused CPU attention); the checkpoint with the best",
        "validation loss is kept.",
        "",
        f"Originality index: `{STEM}.ngrams`, a Bloom filter of the training split's distinctive",
        "7-interval n-grams (found in at most 2 tunes), ~1 % false positives, written by",
        "`training/ngram_index.py`; the plugin's `Originality guard` resamples a note that would",
        "complete one.",
        "",
        "Reproduce: `cargo xtask train" + (" --data open" if DATA == "open" else "") + "` (installs `training/requirements.txt` into `training/.venv`,",
        "extracts, trains, exports, verifies, evaluates and rewrites this card).",
        "",
        "## Evaluation (test split)",
        "",
        "Bits per own-note token on single lines, every test tune from its first bar, as many bars as",
        "fit the context; the previous model (Descant 0.2's single-line `descant-melody-v2`) and an",
        "interpolated Witten-Bell 5-gram over the training split score the same notes.",
        "",
        *(["The non-commercial model (`descant.onnx`, all data) scores the same notes too.", ""]
          if any("compare" in r for r in ev["bits_per_token"].values()) else []),
        "| style | tunes | own tokens | model fp32 | model int8 | previous model | 5-gram |"
        + (" non-commercial model |" if any("compare" in r for r in ev["bits_per_token"].values()) else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if any("compare" in r for r in ev["bits_per_token"].values()) else ""),
    ]
    for style, r in ev["bits_per_token"].items():
        prev = f"{r['previous']:.3f}" if "previous" in r else "—"
        lines.append(f"| {style} | {r['tunes']} | {r.get('own_tokens', r.get('tokens'))} | {r['model_fp32']:.3f} | {r['model_int8']:.3f} | {prev} | {r['ngram5']:.3f} |"
                     + (f" {r['compare']:.3f} |" if "compare" in r else ""))
    for style, v in ev.get("voice_pairs", {}).items():
        given = "the alto given the soprano" if style == "chorale" else "a voice given the one above it"
        lines += [
            "",
            f"Voice pairs, {style} ({v['pairs']} held-out pieces, {given}; eight bars generated from bar 2,",
            "measured against the heard voice with the duet measures of `docs/MODEL.md`; a random note",
            "of the key at the same moments as the reference for chance):",
            "",
            "| | consonant on the beat | strict (4th dissonant) | random note: consonant / strict | parallel 5ths+8ves per 100 beats | parallel / similar / contrary / oblique | crossings per 100 beats | in key |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, name in (("real", "the real voice"), ("model", "this model, hearing"),
                            ("model_deaf", "this model, hearing nothing"), ("previous", "previous model (cannot hear)")):
            r = v.get(label)
            if r:
                lines.append(f"| {name} | {r['consonant']:.1f} % | {r['strict']:.1f} % | {r['random_consonant']:.1f} / {r['random_strict']:.1f} % | "
                             f"{r['parallel_perfect_per_100_beats']:.1f} | {r['parallel']:.0f} / {r['similar']:.0f} / {r['contrary']:.0f} / {r['oblique']:.0f} % | "
                             f"{r['crossings_per_100_beats']:.1f} | {r['in_key']:.1f} % |")
        bits = [f"{k.replace('bits_per_own_token_', '').replace('_', ' ')} {x:.3f}" for k, x in v.items() if k.startswith("bits_per_own_token_")]
        lines += ["", "Bits per own-note token on these pieces: " + ", ".join(bits) + "."]
    c = ev["continuations"]
    s = ev["style_control"]
    lines += [
        "",
        f"Continuations of {c['tunes']} held-out tunes (prompt: their first two bars; eight bars generated",
        "as the plugin does, unconditioned, temperature 1, top-p 0.95):",
        "",
        "| | generated | corpus |",
        "|---|---|---|",
        f"| notes in the tune's key | {c['generated_in_key']:.1%} | {c['corpus_in_key']:.1%} |",
        f"| onsets on the sixteenth/triplet grid | {c['generated_on_grid']:.1%} | {c['corpus_on_grid']:.1%} |",
        f"| 8-note interval patterns found in the training set | {c['interval_8gram_copy_rate']:.1%} of {c['windows']} | — |",
        f"| 8-note interval patterns that are distinctive training n-grams (in ≤ 2 tunes; the plugin's originality guard resamples these) | {c.get('distinctive_8gram_copy_rate', float('nan')):.1%} | — |",
        "",
        *([f"Style control: a logistic-regression classifier on note features (accuracy on real test tunes",
           f"{s['classifier_accuracy_on_real_test_tunes']:.1%}) labels output generated for each requested style",
           f"correctly {s['accuracy_on_generated']:.1%} of the time (chance {s['chance']:.0%}).",
           "Confusion (rows requested, columns classified, order " + ", ".join(STYLES) + "): "
           + "; ".join(" ".join(str(x) for x in row) for row in s["confusion"]) + "."] if s else
          ["Style control: one style, nothing to tell apart."]),
        "",
    ]
    for name, a in ev["attribute_control"].items():
        lines.append(f"{name.capitalize()} control: requested z {a['requested_z']} → measured "
                     f"{', '.join(f'{m:.2f}' for m in a['measured'])} (monotonic: {'yes' if a['monotonic'] else 'no'}).")
    lines += ["", "Step latency, ONNX Runtime, one thread:", "", "| | median ms | p99 ms |", "|---|---|---|"]
    for k, v in ev["latency_one_thread"].items():
        lines.append(f"| {k} | {v['median_ms']} | {v['p99_ms']} |")
    worse = [st for st, r in ev["bits_per_token"].items() if r["model_fp32"] >= r["ngram5"]]
    lines += [
        "",
        "## Known limits",
        "",
        (f"- **The model does not beat the 5-gram baseline** on held-out bits per token in: {', '.join(worse)}. "
         f"It saw {tr['tokens_seen'] / 1e6:.1f} M tokens in {tr['minutes']} min of {tr.get('precision', 'fp32')} CPU "
         "training. Train longer (`cargo xtask train --minutes N`, or on a GPU)."
         if worse else
         f"- Small (CPU-sized) and briefly trained: it saw {tr['tokens_seen'] / 1e6:.1f} M tokens in {tr['minutes']} min; "
         "it beats the 5-gram baseline in every style, but a longer run or a larger model would likely do better."),
        (f"- Left unguarded it reuses training material: {c['distinctive_8gram_copy_rate']:.0%} of its 8-note interval "
         "patterns are distinctive training n-grams. Keep `Originality guard` on for output you publish."
         if c.get("distinctive_8gram_copy_rate") is not None else "- The copy rate of its output was not measured."),
        *(["- Requested styles that the classifier confuses (see the confusion above) lean towards European folk, the",
           "  largest style in the data."] if s else
          ["- **One style, and no voice pairs.** The open collections hold only Irish, Scottish and",
           "  Northumbrian single lines (`docs/DATA.md`). It has no European or Chinese folk, chorale or",
           "  renaissance style (the `Style` list says \"not in this model\"), and it never heard a second",
           "  voice sound with its own: beside a player it relies on what it learned from calls and on",
           "  the plugin's onset choice and harmony guard. The non-commercial model, the Model list's second",
           "  built-in entry, has all five styles and voice pairs. Measured through the plugin",
           "  (`docs/MEASUREMENTS.md`, \"The open model\"), where it falls behind is in those styles:",
           "  Renaissance answers keep the call's pace 77.8 % of the time (the non-commercial model",
           "  88.9 %), and beside chorales 91.2 % of its Continue notes are in key (94.7 %)."]),
        *([f"- Against the previous single-line model, bits per own token are more than 2 % worse in: "
            + ", ".join(f"{st} (+{100 * (r['model_fp32'] / r['previous'] - 1):.1f} %)" for st, r in ev["bits_per_token"].items()
                        if "previous" in r and r["model_fp32"] > 1.02 * r["previous"])
            + "; the token-weighted mean over all styles is "
            + f"{100 * (sum(r['own_tokens'] * r['model_fp32'] for r in ev['bits_per_token'].values()) / sum(r['own_tokens'] * r['previous'] for r in ev['bits_per_token'].values()) - 1):+.1f} %."]
          if any("previous" in r and r["model_fp32"] > 1.02 * r["previous"] for r in ev["bits_per_token"].values()) else []),
        "- Descant's own line is monophonic; one meter per line (a piece is cut at its first meter change).",
        "- Meters outside the vocabulary (5/8, 7/8, …) are not in the data.",
        "- Styles are provenance labels; the renaissance voices and the chorale sopranos are vocal lines.",
        "- Style control is learned from provenance labels only; how far a requested style is audible is",
        "  measured above (classifier accuracy on generated output). The plugin backs the attribute",
        "  controls with sampling constraints (register folding, scale lock, density prior, mood lean).",
        "",
    ]
    out = assets / ("MODEL_CARD.md" if DATA == "all" else "MODEL_CARD-open.md")
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
