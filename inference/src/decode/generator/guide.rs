//! What a line starts from and how each of its notes is steered: plain `Copy` descriptions the
//! planner builds and the generator reads. Worker thread (or tests); no allocation.

use crate::decode::steering::Steering;
use crate::model::tokenizer::{Meter, TickNote};
use crate::music::key::{Key, PitchClassSet};
use crate::music::originality::NgramIndex;
use crate::music::phrasing::Phrasing;

/// How the next note is steered: the musician's controls, the control vector they imply and what
/// the worker knows of the music (key, chord). (One field per way a note is steered; the planner
/// builds it whole before every note, and the generator reads each by name.)
#[derive(Debug, Clone, Copy)]
pub struct Guide<'a> {
    /// The controls (register, scale lock strength, chord bias and repetition switches, density).
    pub steering: Steering,
    /// The model's control vector (see [`crate::decode::steering::control_vector`]).
    pub control: &'a [f32],
    /// The fixed or detected key, if any (scale lock and mood).
    pub key: Option<Key>,
    /// Pitch classes of the chord held now (empty: none).
    pub chord: PitchClassSet,
    /// Pitch classes the music establishes as the key's (see
    /// [`crate::music::key::collection`]; a set key's scale), with the chord's: the key pull of
    /// [`crate::decode::shaping`] weighs down the others (empty: no key known).
    pub collection: PitchClassSet,
    /// The training set's distinctive n-grams, when the originality guard is on.
    pub originality: Option<&'a NgramIndex>,
    /// What Descant hears or expects to hear (absolute ticks, several at once allowed): a
    /// two-voice model is told a bar's notes from here when the line enters the bar.
    pub heard: &'a [TickNote],
    /// Absolute tick where the phrase ends, if the planner knows (an answer's end): a two-voice
    /// model is told how many bars are left.
    pub phrase_end: Option<i64>,
    /// Phrases that end and breathe (Continue and Loop): each phrase's close is kept (see
    /// [`crate::music::phrasing`]) and a two-voice model is told each bar's distance to its phrase end
    /// (this wins over `phrase_end`).
    pub phrasing: Option<Phrasing>,
    /// The player is playing: in a bar with no heard note known, a two-voice model writes what it
    /// expects them to play (its own prediction of the heard voice) before its own notes.
    pub expect_heard: bool,
    /// Weigh down keys that clash with what sounds at a note's onset (see
    /// [`crate::decode::shaping`]).
    pub harmony_guard: bool,
    /// Give each on-beat note [`Alternates`](crate::music::onset::Alternates) for the audio thread's onset choice (see
    /// [`crate::music::onset`]).
    pub alternates: bool,
    /// Onsets keep to this grid, in ticks from the bar line, when set: an answer to a call on the
    /// sixteenth grid keeps to it (no triplets after straight eighths).
    pub grid: Option<i64>,
    /// The approach to an answer's cadence, when the planner knows where it falls: the keys a
    /// note starting just before it is drawn towards (see [`Approach`]).
    pub approach: Option<Approach>,
    /// With the Density control on Auto, the pace the line keeps to: the player's (beside the
    /// player) or the call's (an answer), at the style's own ratio
    /// ([`crate::decode::steering::auto_density`]); see [`Pace`].
    pub pace: Option<Pace>,
    /// With the Density control on Auto beside the player, the style's correction of the
    /// duration and pitch logits, so that the line's lengths and intervals are its style's (see
    /// [`crate::decode::calibration`]); `None` in Answer mode and with the density set.
    pub calibration: Option<crate::decode::calibration::Calibration>,
    /// Keys the musician vetoed, each at its onset (absolute tick): a note starting there never
    /// takes that key (a hard mask, as the register is).
    pub avoid: &'a [(i64, u8)],
}

/// The pace a line keeps to with the Density control on Auto, in notes per beat, and from which
/// side it is kept. One side only: the other is the model's, so the line's rhythm is not
/// flattened to one length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// A line beside the player: notes much longer than one per `1 / pace` beats are weighed
    /// down ([`crate::decode::shaping::shape_long_durations`]); shorter ones are the model's.
    NoSlower(f32),
    /// An answer that runs ahead of the call's pace: notes much shorter than one per `1 / pace`
    /// beats are weighed down ([`crate::decode::shaping::shape_short_durations`]); longer ones, a
    /// held cadence among them, are the model's. A tune's answering phrase moves at its first
    /// phrase's pace; a model that learned reels alone answered a hymn's half notes with runs of
    /// eighths. The planner sets it only while the answer is ahead, so an answer at the call's
    /// pace keeps the model's rhythm.
    NoFaster(f32),
}

/// The approach to a cadence: a note whose onset lies in `from..until` is drawn towards `keys`
/// (its pitch logits raised by `bias` on them), so that the cadence that follows is reached by a
/// repeat or a step, as tunes reach theirs. Soft: the model may still leap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Approach {
    /// First tick of the onsets drawn.
    pub from: i64,
    /// The tick after the last onset drawn (the cadence's beat).
    pub until: i64,
    /// The keys drawn towards (bit `k`: MIDI key `k`).
    pub keys: u128,
    /// Added to the pitch logits of `keys`, in nats.
    pub bias: f32,
}

/// Where and over what a line starts (see [`Continuation::start`](super::Continuation::start)).
#[derive(Debug, Clone, Copy)]
pub struct LineStart<'a> {
    /// The line's own past (Descant's line or, for a v1 model, the one merged line); absolute
    /// ticks.
    pub history: &'a [TickNote],
    /// What sounds beside the line (a two-voice model is told it up to the end of the first bar).
    pub heard: &'a [TickNote],
    /// Where the phrase ends, if known (absolute tick).
    pub phrase_end: Option<i64>,
    /// Phrases of a Continue or Loop line (their ends are told in the prompt; see
    /// [`Guide::phrasing`]).
    pub phrasing: Option<Phrasing>,
    /// The meter of the bars.
    pub meter: Meter,
    /// Absolute tick of a bar line.
    pub anchor: i64,
    /// The first tick a note may start on.
    pub tick: i64,
    /// The sampler's seed.
    pub seed: u64,
    /// The player is playing: if nothing is known of the first bar's heard notes, a two-voice
    /// model writes what it expects there (see [`Guide::expect_heard`]).
    pub expect_heard: bool,
}

impl<'a> LineStart<'a> {
    /// A line over `history` alone (nothing heard, no phrase end) from `tick`, bars on `anchor`.
    pub fn over(history: &'a [TickNote], meter: Meter, anchor: i64, tick: i64, seed: u64) -> Self {
        LineStart {
            history,
            heard: &[],
            phrase_end: None,
            phrasing: None,
            meter,
            anchor,
            tick,
            seed,
            expect_heard: false,
        }
    }
}
