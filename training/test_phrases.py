"""The phrase benchmark's call and consequent (training/phrases.py): phrases counted from the
tune's first note, so a pickup leads into its phrase instead of shifting the cut."""

import phrases

BAR = 48  # 4/4 in ticks


def tune(first, bars, ends):
    """Eighth notes from `first` for `bars` bars, 4/4, with the given phrase ends."""
    notes = [[o, 6, 60 + (o // 6) % 7] for o in range(first, first + bars * BAR, 6)]
    return {"meter": [4, 4], "notes": notes, "phrase_ends": ends}


def test_a_pickup_belongs_to_the_phrase_it_leads_into():
    # A quarter-note pickup (12 ticks before the first bar line), an 8-bar strain marked at its end.
    t = tune(BAR - 12, 8, [BAR - 12 + 8 * BAR])
    call, cons, cut, bars = phrases.call_and_consequent(t)
    assert (bars, cut) == (4, BAR - 12 + 4 * BAR)
    assert call[0][0] == BAR - 12 and max(o + d for o, d, _ in call) == cut
    # The consequent is the strain's second half: as many bars as the call, its own pickup first.
    assert cons[0][0] == cut and max(o + d for o, d, _ in cons) == cut + 4 * BAR


def test_a_marked_phrase_end_shorter_than_the_longest_call_is_the_call():
    t = tune(0, 8, [3 * BAR, 6 * BAR])
    call, cons, cut, bars = phrases.call_and_consequent(t)
    assert (bars, cut) == (3, 3 * BAR)
    assert max(o + d for o, d, _ in cons) == 6 * BAR


def test_a_longer_call_is_asked_for():
    t = tune(BAR - 12, 16, [BAR - 12 + 8 * BAR, BAR - 12 + 16 * BAR])
    _, cons, cut, bars = phrases.call_and_consequent(t, call_bars=8)
    assert (bars, cut) == (8, BAR - 12 + 8 * BAR)
    assert max(o + d for o, d, _ in cons) == BAR - 12 + 16 * BAR
