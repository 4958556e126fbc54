//! Phrases that end and breathe (Continue and Loop): where a line's phrases end, and the rules the
//! generator keeps in each phrase's close. Plain `Copy` types and functions, no allocation; used by
//! the worker (the planner and the generator) and by the measurements.
//!
//! Guarantees, for a line generated under a [`Phrasing`] (see [`crate::decode::generator`]):
//! - no note of the line sounds across a phrase end;
//! - a note that starts before a phrase's close (the last strong beat of its last bar) ends by it;
//! - the phrase's last note starts in the close, between that strong beat and half a pulse after it
//!   (the line does not cross into the next phrase without it), and is one of
//!   [`Phrasing::last_keys`] (or of [`Phrasing::half_keys`], when what sounds there belongs to
//!   the dominant and not the tonic; in a loop's last phrase first of [`Phrasing::lead_keys`]
//!   where one does not clash; see [`Close::keys_over`]) when any of them lies in the register;
//!   those of them a step or less from the note before are drawn towards, not forced
//!   ([`LAST_NOTE_STEP_BIAS`]);
//! - that last note ends the phrase with a **breath** ([`breathes`]): it lasts at least a long
//!   note ([`long_ticks`]), or it ends at least [`REST_TICKS`] before the phrase end.

use crate::music::critic::strong_beat;
use crate::music::key::{Key, Mode, PitchClassSet};
use crate::music::time::Meter;
use crate::music::time::TICKS_PER_BEAT;

/// How strongly a phrase's last note is drawn towards those of its close's keys a step or less
/// from the note before (nats added to their logits), so that a phrase ends by step where its
/// cadence allows, as tunes and inner voices do; the model may still leap. Tuned beside the
/// twelve melodies in Continue mode (`docs/MEASUREMENTS.md`, "Tuned constants").
pub const LAST_NOTE_STEP_BIAS: f32 = 4.0;

/// The keys a step or less (two semitones) from `key`, itself included (bit `k`: MIDI key `k`).
pub fn keys_near(key: u8) -> u128 {
    let key = key & 127;
    (key.saturating_sub(2)..=key.saturating_add(2).min(127)).fold(0, |set, k| set | 1 << k)
}

/// The shortest rest that counts as a breath before a phrase end: an eighth note, in ticks.
pub const REST_TICKS: i64 = TICKS_PER_BEAT / 2;

/// How a line is cut into phrases: where they end and what their last note may be. Made by the
/// planner before every step (Continue: phrases of `Phrase length` bars from a host bar line;
/// Loop: the cycle, or phrases that tile it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phrasing {
    /// Absolute tick where some phrase starts (phrase ends are `origin + k * len`).
    pub origin: i64,
    /// The length of a phrase in ticks (whole bars, at least one).
    pub len: i64,
    /// Keys (bit `k`: MIDI key `k`) the current phrase's last note may take: the tonic triad of
    /// the key in use (a cadence). 0: any key.
    pub last_keys: u128,
    /// Keys of a half cadence (the dominant triad), for a close where what sounds belongs to the
    /// dominant and not to the tonic; 0: none (the last note keeps to `last_keys`).
    pub half_keys: u128,
    /// Loop mode's last phrase: the keys a step from the take's first note (the take leads back
    /// into its start), preferred over the cadence where one of them does not clash with what
    /// sounds there; 0: none.
    pub lead_keys: u128,
}

impl Phrasing {
    /// The first phrase end after `tick`: the end of the phrase `tick` lies in.
    pub fn end_after(&self, tick: i64) -> i64 {
        let len = self.len.max(1);
        self.origin + (tick - self.origin).div_euclid(len) * len + len
    }

    /// The close of the phrase that ends at `end` (see [`Close`]).
    pub fn close(&self, meter: Meter, anchor: i64, end: i64) -> Close {
        let bar = meter.bar_ticks();
        let from = (end - bar..end)
            .rev()
            .find(|&t| strong_beat(meter, anchor, t))
            .unwrap_or(end - bar);
        Close {
            end,
            from,
            until: (from + meter.pulse_ticks() / 2 + 1).min(end - REST_TICKS),
            long: long_ticks(meter),
            keys: self.last_keys,
            half_keys: self.half_keys,
            lead_keys: self.lead_keys,
        }
    }
}

/// The rules of one phrase's close, for the generator's token masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// Absolute tick of the phrase end.
    pub end: i64,
    /// The last strong beat of the phrase's last bar: where its last note may start.
    pub from: i64,
    /// The last note starts before this tick (on the strong beat, or up to half a pulse after it).
    pub until: i64,
    /// A last note at least this long breathes whatever follows it (ticks).
    pub long: i64,
    /// The keys the last note may take (0: any).
    pub keys: u128,
    /// The keys of a half cadence (0: none; see [`Close::keys_over`]).
    pub half_keys: u128,
    /// The keys that lead back into a loop's start (0: none; see [`Close::keys_over`]).
    pub lead_keys: u128,
}

impl Close {
    /// Whether a note may start at `onset` when the line is free from `next_free`: before the
    /// close, or as the phrase's last note (none started in the close yet) inside its window.
    pub fn onset_ok(&self, onset: i64, next_free: i64) -> bool {
        onset < self.from || (next_free <= self.from && onset < self.until && onset < self.end)
    }

    /// Whether the line may cross the bar line at `bar_end` when free from `next_free`: not out
    /// of the phrase's last bar before its last note.
    pub fn bar_ok(&self, bar_end: i64, next_free: i64) -> bool {
        bar_end != self.end || next_free > self.from
    }

    /// The keys the last note may take over the pitch classes `sounding` at its onset (heard or
    /// expected): the cadence's, unless something sounds that its chord lacks and the half
    /// cadence's chord holds all of it (a melody on the dominant gets a half cadence, not a
    /// clash); both when neither chord holds all that sounds. Keys that lead back into a loop's
    /// start come first, those of them that make no second, seventh or tritone with anything
    /// sounding. 0: any key.
    pub fn keys_over(&self, sounding: PitchClassSet) -> u128 {
        let leading = (0..128u8)
            .filter(|&k| self.lead_keys & (1u128 << k) != 0)
            .filter(|&k| {
                (0..12u8).all(|pc| {
                    sounding.0 & (1 << pc) == 0
                        || !CLASHES.contains(&((i16::from(k) - i16::from(pc)).rem_euclid(12)))
                })
            })
            .fold(0u128, |set, k| set | 1u128 << k);
        if leading != 0 {
            return leading;
        }
        let holds = |keys: u128| sounding.0 & !classes_of(keys) == 0;
        if self.half_keys == 0 || self.keys == 0 || holds(self.keys) {
            self.keys
        } else if holds(self.half_keys) {
            self.half_keys
        } else {
            self.keys | self.half_keys
        }
    }

    /// Every key the close allows in some case (the cadence's, the half cadence's and the lead
    /// back's): the last note's alternates for the onset choice. 0: any key.
    pub fn any_keys(&self) -> u128 {
        if self.keys == 0 {
            0
        } else {
            self.keys | self.half_keys | self.lead_keys
        }
    }

    /// Whether a note starting at `onset` may take `key`, the last note keeping to `keys` (see
    /// [`Close::keys_over`]; 0: any key).
    pub fn key_ok(&self, onset: i64, key: u8, keys: u128) -> bool {
        onset < self.from || keys == 0 || keys & (1u128 << (key & 127)) != 0
    }

    /// Whether a note starting at `onset` may last `duration` ticks: a note before the close ends
    /// by it; the last note ends the phrase with a breath.
    pub fn duration_ok(&self, onset: i64, duration: i64) -> bool {
        let end = onset + duration;
        if onset < self.from {
            end <= self.from
        } else {
            end <= self.end && (duration >= self.long || end <= self.end - REST_TICKS)
        }
    }
}

/// Interval classes a leading note must not make with what sounds: seconds, sevenths, the tritone.
const CLASHES: [i16; 5] = [1, 2, 6, 10, 11];

/// The pitch classes of a set of keys.
fn classes_of(keys: u128) -> u16 {
    (0..128u8)
        .filter(|&k| keys & (1u128 << k) != 0)
        .fold(0u16, |set, k| set | 1 << (k % 12))
}

/// A note at least this long ends a phrase with a breath of its own (a held note): a half note,
/// or a dotted quarter in a compound meter.
pub fn long_ticks(meter: Meter) -> i64 {
    if meter.compound() {
        3 * TICKS_PER_BEAT / 2
    } else {
        2 * TICKS_PER_BEAT
    }
}

/// Whether a line whose last note before a phrase end `end` starts at `onset` and lasts `duration`
/// ticks breathes there: the note is long ([`long_ticks`]) or ends [`REST_TICKS`] or more before
/// `end`: the rule a [`Close`] keeps, for tests of the planners. (`descant duet` measures what
/// the plugin played with its own twin in beats, `host/src/phrase_ends.rs`.)
pub fn breathes(meter: Meter, onset: i64, duration: i64, end: i64) -> bool {
    duration >= long_ticks(meter) || onset + duration <= end - REST_TICKS
}

/// The keys of `key`'s tonic triad (the 1st, 3rd and 5th of its mode): a phrase's cadence.
pub fn triad_keys(key: Key) -> u128 {
    let third = match key.mode {
        Mode::Major | Mode::Mixolydian | Mode::MajorPentatonic => 4,
        Mode::Minor | Mode::Dorian | Mode::MinorPentatonic => 3,
    };
    keys_of_classes(key.tonic, &[0, third, 7])
}

/// The keys of `key`'s dominant triad (the 5th, 7th and 2nd; in minor the leading tone): a half
/// cadence.
pub fn dominant_keys(key: Key) -> u128 {
    let seventh = match key.mode {
        Mode::Mixolydian | Mode::Dorian | Mode::MinorPentatonic => 10,
        _ => 11,
    };
    keys_of_classes(key.tonic, &[7, seventh, 2])
}

/// Every key whose pitch class is `tonic` plus one of `steps`.
fn keys_of_classes(tonic: u8, steps: &[u8]) -> u128 {
    let classes = PitchClassSet(
        steps
            .iter()
            .fold(0u16, |set, s| set | 1 << ((tonic + s) % 12)),
    );
    (0..128u8)
        .filter(|&k| classes.contains_key(k))
        .fold(0u128, |set, k| set | 1u128 << k)
}

/// The keys a step (one or two semitones) from `first`, in `scale` when one is known: a loop's
/// last note that leads back into its first.
pub fn lead_back_keys(first: u8, scale: Option<PitchClassSet>) -> u128 {
    [-2i16, -1, 1, 2]
        .iter()
        .map(|d| i16::from(first) + d)
        .filter(|k| (0..128).contains(k))
        .map(|k| k as u8)
        .filter(|&k| scale.is_none_or(|s| s.contains_key(k)))
        .fold(0u128, |set, k| set | 1u128 << k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: Meter = Meter {
        numerator: 4,
        denominator: 4,
    };
    const THREE: Meter = Meter {
        numerator: 3,
        denominator: 4,
    };
    const SIX_EIGHT: Meter = Meter {
        numerator: 6,
        denominator: 8,
    };
    const B: i64 = TICKS_PER_BEAT;

    fn four_bars(last_keys: u128) -> Phrasing {
        Phrasing {
            origin: 0,
            len: 16 * B,
            last_keys,
            half_keys: 0,
            lead_keys: 0,
        }
    }

    #[test]
    fn phrase_ends_tile_time_from_the_origin() {
        let p = Phrasing {
            origin: 4 * B,
            ..four_bars(0)
        };
        assert_eq!(p.end_after(4 * B), 20 * B);
        assert_eq!(p.end_after(19 * B), 20 * B);
        assert_eq!(p.end_after(20 * B), 36 * B);
        assert_eq!(p.end_after(0), 4 * B);
    }

    #[test]
    fn the_close_is_the_last_strong_beat_of_the_last_bar() {
        // 4/4: beat 3 of the last bar, up to the eighth after it.
        let c = four_bars(0).close(FOUR, 0, 16 * B);
        assert_eq!((c.from, c.until), (14 * B, 14 * B + B / 2 + 1));
        // 3/4: the downbeat of the last bar; 6/8: its second dotted beat, up to the eighth
        // after it (half a dotted-quarter pulse is a sixteenth and a half: 9 ticks).
        let c = four_bars(0).close(THREE, 0, 12 * B);
        assert_eq!((c.from, c.until), (9 * B, 9 * B + B / 2 + 1));
        let bar68 = SIX_EIGHT.bar_ticks();
        let c = four_bars(0).close(SIX_EIGHT, 0, 4 * bar68);
        assert_eq!(c.from, 4 * bar68 - bar68 / 2);
        assert_eq!(c.until, c.from + 9 + 1);
    }

    #[test]
    fn a_note_before_the_close_ends_by_it_and_the_last_note_breathes() {
        let c = four_bars(0).close(FOUR, 0, 16 * B);
        assert!(c.duration_ok(12 * B, 2 * B));
        assert!(!c.duration_ok(12 * B, 3 * B), "crosses the close");
        // The last note: a half note to the end, or shorter with a rest after it.
        assert!(c.duration_ok(14 * B, 2 * B));
        assert!(c.duration_ok(14 * B, B));
        assert!(
            !c.duration_ok(14 * B + B / 2, B + B / 2),
            "ends on the phrase end, short"
        );
        assert!(!c.duration_ok(14 * B, 3 * B), "across the phrase end");
        for (onset, duration) in [(14 * B, 2 * B), (14 * B, B), (14 * B + 3, 6)] {
            assert_eq!(
                c.duration_ok(onset, duration),
                breathes(FOUR, onset, duration, 16 * B) && onset + duration <= 16 * B
            );
        }
    }

    #[test]
    fn one_last_note_in_the_window_then_nothing_until_the_phrase_end() {
        let c = four_bars(0).close(FOUR, 0, 16 * B);
        assert!(c.onset_ok(13 * B, 13 * B));
        assert!(c.onset_ok(14 * B, 14 * B));
        assert!(c.onset_ok(14 * B + 6, 14 * B));
        assert!(!c.onset_ok(15 * B, 14 * B), "past the window");
        assert!(
            !c.onset_ok(14 * B + 6, 14 * B + 3),
            "a second note in the close"
        );
        assert!(
            !c.bar_ok(16 * B, 14 * B),
            "not out of the phrase without its last note"
        );
        assert!(c.bar_ok(16 * B, 15 * B));
        assert!(c.bar_ok(12 * B, 10 * B), "other bar lines are free");
    }

    #[test]
    fn the_cadence_keys_are_the_tonic_triad_and_a_loop_leads_back_by_step() {
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let keys = triad_keys(c_major);
        let has = |set: u128, k: u8| set & (1u128 << k) != 0;
        assert!(has(keys, 60) && has(keys, 64) && has(keys, 67) && has(keys, 72));
        assert!(!has(keys, 62) && !has(keys, 63) && !has(keys, 65));
        let a_minor = triad_keys(Key {
            tonic: 9,
            mode: Mode::Minor,
        });
        assert!(has(a_minor, 69) && has(a_minor, 72) && has(a_minor, 76) && !has(a_minor, 73));
        let back = lead_back_keys(64, Some(c_major.scale()));
        let all: Vec<u8> = (0..128).filter(|&k| has(back, k)).collect();
        assert_eq!(all, [62, 65]);
        assert_eq!(lead_back_keys(64, None).count_ones(), 4);
        let c = Phrasing {
            last_keys: keys,
            ..four_bars(0)
        }
        .close(FOUR, 0, 16 * B);
        assert!(c.key_ok(13 * B, 62, keys), "before the close any key");
        assert!(c.key_ok(14 * B, 67, keys) && !c.key_ok(14 * B, 62, keys));
    }

    #[test]
    fn over_a_melody_on_the_dominant_the_close_is_a_half_cadence() {
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let (tonic, dominant) = (triad_keys(c_major), dominant_keys(c_major));
        let c = Phrasing {
            last_keys: tonic,
            half_keys: dominant,
            ..four_bars(0)
        }
        .close(FOUR, 0, 16 * B);
        let pcs = |list: &[u8]| PitchClassSet(list.iter().fold(0, |s, p| s | 1 << p));
        assert_eq!(c.keys_over(pcs(&[])), tonic, "nothing sounds: home");
        assert_eq!(c.keys_over(pcs(&[4])), tonic, "an E: home");
        assert_eq!(c.keys_over(pcs(&[2])), dominant, "a D: half cadence");
        assert_eq!(
            c.keys_over(pcs(&[7, 11])),
            dominant,
            "G and B: half cadence"
        );
        assert_eq!(c.keys_over(pcs(&[5])), tonic | dominant, "an F: either");
        assert!(dominant & (1u128 << 71) != 0 && dominant & (1u128 << 62) != 0);
    }

    #[test]
    fn a_loops_last_note_leads_back_unless_every_step_would_clash() {
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let lead = lead_back_keys(64, Some(c_major.scale())); // D4 or F4 into E4
        let c = Phrasing {
            last_keys: triad_keys(c_major),
            half_keys: dominant_keys(c_major),
            lead_keys: lead,
            ..four_bars(0)
        }
        .close(FOUR, 0, 16 * B);
        let pcs = |list: &[u8]| PitchClassSet(list.iter().fold(0, |s, p| s | 1 << p));
        assert_eq!(c.keys_over(pcs(&[])), lead, "nothing sounds: both steps");
        assert_eq!(
            c.keys_over(pcs(&[11])),
            1u128 << 62,
            "over a B: D (a third), not F"
        );
        assert_eq!(
            c.keys_over(pcs(&[3])),
            triad_keys(c_major) | dominant_keys(c_major),
            "over an E flat both steps clash: a cadence instead"
        );
    }
}
