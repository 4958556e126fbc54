//! What every mode plans with: the clock, what the player (and the chord channel) played, the
//! line being played and what was sent. The mode planners ([`super::answer`], [`super::along`],
//! [`super::looping`]) each get it by `&mut` for one planning step; the stepping of the line is in
//! [`super::line`]. Worker thread (or tests); allocates only when a line starts or a buffer grows.
//!
//! Guarantees: it never reads the wall clock or a shared atomic; what it knows of time comes in
//! through [`PlanContext::hear`] (events) and the playhead of each plan.

use fastrand::Rng;

use crate::decode::generator::{Approach, Continuation};
use crate::events::{ContextEvent, GeneratedNote};
use crate::model::step::StepModel;
use crate::model::tokenizer::TickNote;
use crate::model::Model;
use crate::music::key::{self, Key, PitchClassSet};
use crate::music::originality::NgramIndex;
use crate::music::time::Meter;

use super::memory::TrackMemory;
use super::{ceil_to, push_bounded, to_tick, MAX_PHRASE_NOTES, MAX_SENT};

/// Player notes the automatic key looks at: as many as Answer mode's automatic home
/// ([`key::HOME_NOTES`]), so the two follow a change of key as soon.
const KEY_NOTES: usize = key::HOME_NOTES;

/// Bars after the player's first note that a line waits for the key before it enters anyway
/// (see [`PlanContext::entry`]). Two gave the same notes in key on the validation split (Loop
/// alone, seeds 1 and 2: 95.9–96.2 % either way) and fewer notes.
pub(super) const LISTEN_BARS: i64 = 1;

/// Vetoed keys remembered at once (the oldest go first).
pub(super) const MAX_VETOED: usize = 64;

/// When the plan is made and in which bars.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    /// Latest plan epoch seen from the audio thread; notes are sent with it.
    pub(super) epoch: u32,
    /// The playhead of the plan being made.
    pub(super) now: i64,
    /// Meter of the host's bars.
    pub(super) meter: Meter,
    /// Absolute tick of a bar line.
    pub(super) anchor: i64,
}

/// What the player and the chord channel played.
#[derive(Debug)]
pub(super) struct Player {
    /// Player keys held down: onset tick per key.
    pub(super) held: [Option<i64>; 128],
    /// Keys held on the chord channel: onset tick per key.
    pub(super) chord_held: [Option<i64>; 128],
    /// The key detected from the player's phrase (updated on every note-off; kept when the
    /// transport stops or jumps, forgotten on a reset).
    pub(super) detected_key: Option<Key>,
    /// The pitch classes the player's phrase establishes as the key's (updated with
    /// `detected_key`; see `key::collection`; before the key can be detected, from the first
    /// notes, held ones included: `key::early_collection`): the key pull's set.
    pub(super) collection: Option<PitchClassSet>,
    /// The collection changed since Continue mode's last-moment correction looked (it withdraws
    /// planned notes the key now heard leaves out).
    pub(super) collection_changed: bool,
    /// The player's recent notes (absolute ticks), oldest first.
    pub(super) phrase: Vec<TickNote>,
    /// Tick of the player's latest note-off.
    pub(super) last_off_tick: i64,
    /// Everything heard (player and chord channel), by where it sounded: survives loop wraps.
    pub(super) memory: TrackMemory,
    /// Player notes that began since the last plan, `(onset tick, key)`: checked against the
    /// notes already sent (Continue mode's last-moment correction).
    pub(super) arrived: Vec<(i64, u8)>,
    /// Tick of the first player note-on since the transport started or jumped: before the key
    /// is heard, a line waits a bar after it ([`PlanContext::entry`]).
    pub(super) first_heard: Option<i64>,
    /// A chord-channel note was heard (since the last reset): the chords tell the key, so a
    /// line need not wait for the player's ([`PlanContext::entry`]).
    pub(super) chord_heard: bool,
}

impl Player {
    /// Whether a player key is down.
    pub(super) fn any_held(&self) -> bool {
        self.held.iter().any(Option::is_some)
    }

    /// The key's likely pitch classes from the phrase's first notes and the keys held, while
    /// they are too few to detect a key (see `key::early_collection`).
    fn early_collection(&self) -> Option<PitchClassSet> {
        let mut keys = [0u8; key::MIN_NOTES_TO_DETECT];
        let mut n = 0;
        let held = (0..128u8).filter(|&k| self.held[usize::from(k)].is_some());
        for k in self.phrase.iter().map(|note| note.key).chain(held) {
            if n == keys.len() {
                return None;
            }
            keys[n] = k;
            n += 1;
        }
        let threshold = if self.chord_heard {
            key::EARLY_IN_KEY_WITH_CHORDS
        } else {
            key::EARLY_IN_KEY
        };
        key::early_collection(&keys[..n], threshold)
    }
}

/// The line being played and what it is told.
pub(super) struct Line<M: StepModel> {
    /// The line being played, if any.
    pub(super) continuation: Option<Continuation<M>>,
    /// What a two-voice model is told it hears: rebuilt before every step (reused buffer).
    pub(super) heard: Vec<TickNote>,
    /// Where the current line's phrase ends (an answer's end, a loop cycle's), if known.
    pub(super) phrase_end: Option<i64>,
    /// The approach to the cadence of the answer candidate being written, if any (set and
    /// cleared around each candidate; see [`crate::decode::generator::Approach`]).
    pub(super) approach: Option<Approach>,
    /// The pace an answer's candidate brakes to before its next note, when it runs ahead of the
    /// call's (set before each note of a candidate and cleared after it, as `approach`).
    pub(super) brake: Option<f32>,
    /// The control vector, rebuilt from the steering before every note (model's control size).
    pub(super) control: Vec<f32>,
    /// Which of an answer's candidates the next line is (mixed into its seed; 0 otherwise).
    pub(super) candidate: u64,
    /// How many times the musician asked `Again` (mixed into every line's seed, so a redrawn
    /// stretch differs from the one it replaces; 0 until the first `Again`).
    pub(super) draw: u64,
    /// Keys the musician vetoed, each at its onset (absolute ticks): a line planned again there
    /// never takes them (`Guide::avoid`). Forgotten when what was heard is (a stop, a jump).
    pub(super) vetoed: Vec<(i64, u8)>,
    /// Humanize's random numbers; reseeded with every line, so a seed gives the same feel.
    pub(super) feel_rng: Rng,
}

/// What was sent to the audio thread.
#[derive(Debug)]
pub(super) struct Sent {
    /// End in beats of the latest note sent (nothing starts before it; humanize never moves a
    /// note onto it).
    pub(super) last_end_beat: f64,
    /// The latest notes sent, oldest first (what a last-moment correction may withdraw).
    pub(super) notes: Vec<GeneratedNote>,
}

/// The shared context of the mode planners. Touched by the worker thread only.
pub(super) struct PlanContext<M: StepModel = Model> {
    /// When the plan is made and in which bars.
    pub(super) clock: Clock,
    /// What the player and the chord channel played.
    pub(super) player: Player,
    /// The line being played and what it is told.
    pub(super) line: Line<M>,
    /// What was sent.
    pub(super) sent: Sent,
    /// The model's originality index, if it has one.
    pub(super) ngrams: Option<NgramIndex>,
    /// The loaded model's name (recorded in a kept take).
    pub(super) model_name: String,
}

impl<M: StepModel> PlanContext<M> {
    /// A context with nothing heard and no model.
    pub(super) fn new() -> PlanContext<M> {
        PlanContext {
            clock: Clock {
                epoch: 0,
                now: 0,
                meter: Meter::FOUR_FOUR,
                anchor: 0,
            },
            player: Player {
                held: [None; 128],
                chord_held: [None; 128],
                detected_key: None,
                collection: None,
                collection_changed: false,
                phrase: Vec::with_capacity(MAX_PHRASE_NOTES),
                last_off_tick: 0,
                memory: TrackMemory::default(),
                arrived: Vec::with_capacity(16),
                first_heard: None,
                chord_heard: false,
            },
            line: Line {
                continuation: None,
                heard: Vec::with_capacity(MAX_PHRASE_NOTES),
                phrase_end: None,
                approach: None,
                brake: None,
                control: Vec::new(),
                candidate: 0,
                draw: 0,
                vetoed: Vec::with_capacity(MAX_VETOED),
                feel_rng: Rng::with_seed(0),
            },
            sent: Sent {
                last_end_beat: f64::MIN,
                notes: Vec::with_capacity(MAX_SENT),
            },
            ngrams: None,
            model_name: String::new(),
        }
    }

    /// Drops the line being played; returns its cursor, if there was one.
    pub(super) fn drop_line(&mut self) -> Option<i64> {
        let cursor = self.line.continuation.as_ref().map(|c| c.cursor());
        self.line.continuation = None;
        self.line.approach = None;
        self.line.brake = None;
        cursor
    }

    /// A new plan epoch: every plan of the old one was dropped by the audio thread.
    pub(super) fn new_epoch(&mut self, epoch: u32) {
        self.clock.epoch = epoch;
        self.sent.last_end_beat = f64::MIN;
        self.sent.notes.clear();
    }

    /// Forgets what was heard where it sounded (keys down, phrase, arrivals): the transport
    /// stopped or jumped. The key heard stays: a loop wrap or a replay is the same music.
    pub(super) fn forget_heard(&mut self) {
        self.line.vetoed.clear();
        let p = &mut self.player;
        p.held = [None; 128];
        p.chord_held = [None; 128];
        p.phrase.clear();
        p.arrived.clear();
        p.first_heard = None;
    }

    /// Forgets the key heard, and that chords were (a reset: Descant was bypassed, or lost
    /// events).
    pub(super) fn forget_key(&mut self) {
        let p = &mut self.player;
        p.detected_key = None;
        p.collection = None;
        p.chord_heard = false;
    }

    /// Where a line that could start at `bar_line` (a bar line) may enter. With the key on Auto
    /// (`by_key`) and not yet heard (no key detected from the player's notes, no chord heard),
    /// a line does not enter within [`LISTEN_BARS`] of the player's first note: it waits for the
    /// first bar line after that (asked again later, it enters sooner if the key was heard).
    /// A partner listens before it joins; playing alone (nothing heard) it enters at `bar_line`.
    pub(super) fn entry(&self, by_key: bool, bar_line: i64) -> i64 {
        let p = &self.player;
        let bar = self.clock.meter.bar_ticks();
        match p.first_heard {
            Some(first) if !self.key_known(by_key) && bar_line < first + LISTEN_BARS * bar => {
                self.clock.anchor + ceil_to(first + LISTEN_BARS * bar - self.clock.anchor, bar)
            }
            _ => bar_line,
        }
    }

    /// Whether the key is known before anything is played: set by hand (not `by_key`), or
    /// detected from the player's notes, or told by a chord.
    pub(super) fn key_known(&self, by_key: bool) -> bool {
        !by_key || self.player.detected_key.is_some() || self.player.chord_heard
    }

    /// Takes in a player or chord-channel note event; returns whether it finished a player note.
    pub(super) fn hear_note(&mut self, event: ContextEvent) -> bool {
        let p = &mut self.player;
        match event {
            ContextEvent::PlayerNoteOn { key, beat, .. } => {
                p.held[usize::from(key & 127)] = Some(to_tick(beat));
                p.first_heard.get_or_insert(to_tick(beat));
                if p.arrived.len() < p.arrived.capacity() {
                    p.arrived.push((to_tick(beat), key & 127));
                }
                if p.detected_key.is_none() {
                    let collection = p.early_collection().or(p.collection);
                    p.collection_changed |= collection != p.collection;
                    p.collection = collection;
                }
            }
            ContextEvent::PlayerNoteOff { key, beat, .. } => {
                let off = to_tick(beat);
                if let Some(onset) = p.held[usize::from(key & 127)].take() {
                    let note = TickNote {
                        onset,
                        duration: (off - onset).max(1),
                        key,
                    };
                    push_bounded(&mut p.phrase, note);
                    p.memory.record(note);
                    p.last_off_tick = off;
                    let from = p.phrase.len().saturating_sub(KEY_NOTES);
                    p.detected_key = key::detect(&p.phrase[from..]).or(p.detected_key);
                    // (A key heard before a jump stays until four new notes tell another.)
                    let early = || p.detected_key.is_none().then(|| p.early_collection());
                    let collection = key::collection(&p.phrase[from..])
                        .or_else(|| early().flatten())
                        .or(p.collection);
                    p.collection_changed |= collection != p.collection;
                    p.collection = collection;
                    return true;
                }
            }
            ContextEvent::ChordNoteOn { key, beat, .. } => {
                p.chord_held[usize::from(key & 127)] = Some(to_tick(beat));
                p.chord_heard = true;
            }
            ContextEvent::ChordNoteOff { key, beat, .. } => {
                if let Some(onset) = p.chord_held[usize::from(key & 127)].take() {
                    p.memory.record(TickNote {
                        onset,
                        duration: (to_tick(beat) - onset).max(1),
                        key,
                    });
                }
            }
            _ => {}
        }
        false
    }

    /// The audio thread played `played` for the note sent as `planned` at `beat` (the onset
    /// choice): the notes sent say what was played.
    pub(super) fn adopt_choice(&mut self, beat: f64, planned: u8, played: u8) {
        let mut sent = self
            .sent
            .notes
            .iter_mut()
            .rev()
            .filter(|n| n.key == planned);
        if let Some(n) = sent.find(|n| (n.onset_beat - beat).abs() < 1e-6) {
            n.key = played;
            n.alternates = crate::music::onset::Alternates::default();
        }
    }
}
