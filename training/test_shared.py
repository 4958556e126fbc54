"""The torch-free modules evaluation shares with training and the bench: the sampler, the corpus
view of a tune, and the key profiles read from the golden file the Rust side checks too."""

import json
import pathlib

import numpy as np

import corpus
import extract
import sampling


def test_sample_only_returns_allowed_tokens_and_follows_top_p():
    rng = np.random.default_rng(7)
    logits = np.zeros(100, np.float32)
    logits[40] = 10.0  # nearly all the mass
    allowed = np.zeros(100, bool)
    allowed[30:60] = True
    picks = {sampling.sample(logits, allowed, rng, top_p=0.9) for _ in range(200)}
    assert picks == {40}
    picks = {sampling.sample(np.zeros(100, np.float32), allowed, rng, top_p=1.0) for _ in range(2000)}
    assert picks == set(range(30, 60))


def test_the_key_profiles_come_from_the_golden_file():
    golden = json.loads((pathlib.Path(__file__).parent / "golden" / "key_profiles.json").read_text())
    assert list(extract.KK_MAJOR) == golden["major"]
    assert list(extract.KK_MINOR) == golden["minor"]


def test_a_tunes_control_vector_has_its_style_and_attributes():
    tune = {"style": "chorale", "density": 2.0, "register": 65, "mode": "minor", "meter": [4, 4],
            "notes": [[0, 12, 60], [12, 12, 62], [48, 12, 64]]}
    other = dict(tune, density=1.0, register=61)
    c = corpus.Corpus([tune], corpus.Corpus.norms_of([tune, other]))
    v = c.control(tune)
    assert v.shape == (corpus.CONTROL_SIZE,)
    assert v[extract.STYLES.index("chorale")] == 1.0
    assert v[len(extract.STYLES) + 2] == -1.0  # minor
    assert c.window(tune, 64, start_bar=0)[0] == 1  # BOS


def test_the_duet_measure_gives_the_golden_figures():
    """The golden duet cases, which `host/src/duet.rs` must also reproduce, come from this measure."""
    import duet

    golden = json.loads((pathlib.Path(__file__).parent / "golden" / "duet_cases.json").read_text())
    for case in golden["cases"]:
        got = duet.measure([tuple(n) for n in case["player"]], [tuple(n) for n in case["descant"]],
                           tuple(case["scale"]), case["beat"], tuple(case["span"]))
        for k, want in case["expected"].items():
            if isinstance(want, float):
                assert abs(got[k] - want) < 1e-9, (case["name"], k)
            else:
                assert got[k] == want, (case["name"], k)
    assert duet.interval_class(65, 72) == duet.interval_class(72, 65) == 7
