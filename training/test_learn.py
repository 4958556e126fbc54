"""The learning fixture, learned: a one-minute fine-tune on the E Phrygian fixture, without
replaying the corpus, lowers the held-out bits per own token and makes the model write the
fixture's idiom, its dotted rhythm (a dotted eighth on the beat, then a sixteenth), with
Style = yours, where the shipped model with no style writes none. (Its scale is no test: training
transposes every window, so the model learns the mode's shape, not E.)

Needs torch (the training environment `cargo xtask train` makes); skipped without it, so CI, which
has no torch, skips it. Run it where torch is installed (about 2 minutes on 2 cores):
    training/.venv/bin/python -m pytest -q training/test_learn.py
"""

from __future__ import annotations

import json
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import learn_fixture  # noqa: E402


def write_lines(path: pathlib.Path, melodies: int) -> None:
    """The fixture's melodies as `descant lines --out` writes them (ticks of 1/12 beat)."""
    rng = random.Random(1)
    with path.open("w") as f:
        for i in range(melodies):
            notes = [[round(b * 12), round(length * 12), k] for b, length, k in learn_fixture.melody(rng)]
            f.write(json.dumps({"file": f"phrygian-{i:02}.mid", "channel": 1, "meter": [4, 4],
                                "tempos": [[0.0, 100.0]], "notes": notes}) + "\n")


def dotted_share(model: pathlib.Path, style_column: int | None, lines: int = 12) -> float:
    """The share of on-beat notes followed 9 ticks later (a dotted eighth) in what the model
    writes alone after one E, 4 bars a line."""
    import evaluate

    stepper = evaluate.Stepper(model)
    control = np.zeros(stepper.control_size, np.float32)
    if style_column is not None:
        control[style_column] = 1.0
    rng = np.random.default_rng(7)
    dotted = on_beat = 0
    for _ in range(lines):
        notes = evaluate.continue_line(stepper, [(0, 12, 64)], (4, 4), 12, 4, control, rng)
        for (o1, _, _), (o2, _, _) in zip(notes, notes[1:]):
            if o1 % 12 == 0:
                on_beat += 1
                dotted += o2 - o1 == 9
    return dotted / max(on_beat, 1)


@pytest.mark.parametrize("data, base, terms", [("open", "descant-open", "open"),
                                               ("all", "descant", "non-commercial")])
def test_a_minute_of_learning_lowers_held_out_bits_brings_the_idiom_and_keeps_the_base_terms(
        tmp_path, data, base, terms):
    lines = tmp_path / "lines.jsonl"
    write_lines(lines, 40)
    out = tmp_path / "phrygian"
    # No corpus replay, wherever `training/cache` exists: one minute with replay moves the new
    # style too little to measure (the learned model wrote the idiom after 0 % of its on-beat
    # notes), so the test would pass or fail by what the machine has extracted.
    cmd = [sys.executable, str(HERE / "learn.py"), "--lines", str(lines), "--out", str(out), "--minutes", "1",
           "--cache", str(tmp_path / "no-corpus")]
    env = {**__import__("os").environ, "DESCANT_DATA": data}
    done = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    side = json.loads((out / "descant.json").read_text())
    assert side["control"]["styles"][-1] == "yours"
    # Learned on top of the base model, it keeps the base's terms: "your own data" plus the base's.
    said = {"open": "You may use what it plays in released music", "non-commercial": "Non-commercial use only"}
    assert side["terms"] == terms, side["terms"]
    assert side["licence"].startswith(said[terms]) and "your own data" in side["licence"], side["licence"]
    assert said[terms] in (out / "MODEL_CARD.md").read_text()
    bits = side["training"]["learned"]["held_out_bits_per_own_token"]
    assert bits["after"] < bits["before"] - 0.1, bits
    assert not (tmp_path / "phrygian.partial").exists()
    for f in ("descant.onnx", "descant.ngrams", "yours.ngrams", "MODEL_CARD.md"):
        assert (out / f).is_file(), f
    shipped = dotted_share(HERE.parent / "assets" / f"{base}.onnx", None)
    learned = dotted_share(out / "descant.onnx", side["control"]["styles"].index("yours"))
    print(f"held-out bits {bits}; dotted share: shipped {shipped:.2f}, learned {learned:.2f}")
    assert learned > shipped + 0.2, (shipped, learned)
