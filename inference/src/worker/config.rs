//! How a worker is started and what it reads before each note: the model's source, the runtime
//! library, the shared kept take and the live settings. Plain data; built on the main thread,
//! read on the worker.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use super::choice::{ModelChoice, ModelSource};
use crate::decode::sampler::SamplingSettings;
use crate::decode::steering::Steering;
use crate::files::take::{KeptTake, PlayMode};
use crate::music::critic::Ending;
use crate::music::taste::TasteStore;

/// Which of the ways of knowing the harmony ahead of the playhead are on (all are, normally).
/// `DESCANT_HEARING` switches them for measurement: a comma-separated list of the ones to keep,
/// out of `memory`, `expect`, `correct`, `guard` and `choose` (`none` keeps none); see
/// [`Hearing::from_env_value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hearing {
    /// The track memory: what sounded at this place in an earlier pass, a cycle ago, or after
    /// the same notes earlier on.
    pub memory: bool,
    /// The model's own expectation of the player in a bar nothing is known of (two-voice models).
    pub expect: bool,
    /// Continue mode's last-moment correction.
    pub correct: bool,
    /// The harmony guard: keys that clash with what is heard or expected at a note's onset are
    /// weighed down.
    pub guard: bool,
    /// On-beat notes carry alternates for the audio thread's onset choice (see
    /// [`crate::music::onset`]).
    pub choose: bool,
}

impl Default for Hearing {
    fn default() -> Self {
        Hearing {
            memory: true,
            expect: true,
            correct: true,
            guard: true,
            choose: true,
        }
    }
}

impl Hearing {
    /// The switches a `DESCANT_HEARING` value names (unknown words are ignored; an unset or
    /// empty variable keeps everything on).
    pub fn from_env_value(value: Option<&str>) -> Hearing {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Hearing::default(),
            Some(v) => {
                let on = |name: &str| v.split(',').any(|w| w.trim().eq_ignore_ascii_case(name));
                Hearing {
                    memory: on("memory"),
                    expect: on("expect"),
                    correct: on("correct"),
                    guard: on("guard"),
                    choose: on("choose"),
                }
            }
        }
    }
}

/// How long an answer lasts (the `Answer length` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerLength {
    /// As many bars as the call, rounded, at least one, capped (see
    /// [`MATCH_CAP_BARS`](super::planner::MATCH_CAP_BARS)).
    MatchTheCall,
    /// This many bars.
    Bars(u32),
    /// One streamed line until the player plays again.
    UntilYouPlay,
}

/// Live settings the worker reads before planning each note. (One field per parameter that
/// reaches the worker, or per group of them: the parameters' own exception.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerSettings {
    /// Whether Descant plays at all.
    pub enabled: bool,
    /// Temperature and top-p.
    pub sampling: SamplingSettings,
    /// Beats of silence after the player's phrase before Descant answers.
    pub answer_after_beats: f64,
    /// Style, density, register, mood, key and the other controls.
    pub steering: Steering,
    /// Seed of the take: a line (an answer, a Continue line, a loop phrase) starting at tick `t`
    /// uses `seed` and `t`, so the same seed and the same playing give the same notes.
    pub seed: u64,
    /// How Descant plays with the track.
    pub mode: PlayMode,
    /// Answer mode: how long an answer lasts.
    pub answer_length: AnswerLength,
    /// Answer mode: how an answer ends (the critic's ending score).
    pub ending: Ending,
    /// Answer mode: Echo (+1) ↔ Contrast (−1), how much the answer keeps the call's rhythm (a
    /// critic weight).
    pub echo: f32,
    /// Loop mode without a host loop: the cycle length in bars.
    pub loop_bars: u32,
    /// Continue and Loop: phrases of this many bars end with a cadence and a breath (in Loop
    /// mode the cycle, or phrases that tile it); 0 lets the line run on.
    pub phrase_bars: u32,
    /// Loop mode: repeat the current take exactly. In the other modes every change of this
    /// switch is a `Keep` ([`crate::worker::Action`]).
    pub keep: bool,
    /// Every change of this switch is an `Again`: a new take at the next cycle (Loop), the
    /// latest answer or the line redrawn from the next bar line (Answer, Continue).
    pub again: bool,
    /// Answer mode: every change of this switch is an `Answer now`.
    pub answer_now: bool,
    /// Timing and velocity variation, 0..=1 (0 keeps notes on the grid).
    pub humanize: f32,
    /// Which ways of knowing the harmony ahead are on.
    pub hearing: Hearing,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            enabled: true,
            sampling: SamplingSettings::default(),
            answer_after_beats: 2.0,
            steering: Steering::default(),
            seed: 1,
            mode: PlayMode::Answer,
            answer_length: AnswerLength::MatchTheCall,
            ending: Ending::Home,
            echo: 0.5,
            loop_bars: 2,
            phrase_bars: 4,
            keep: false,
            again: false,
            answer_now: false,
            humanize: 0.0,
            hearing: Hearing::default(),
        }
    }
}

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The ONNX Runtime library to load.
    pub ort_library: PathBuf,
    /// The model to load.
    pub model: ModelSource,
    /// The kept loop take, shared with the plugin's persisted state: the worker writes it when a
    /// take is kept and adopts it (after a project loads) when it has none of its own.
    pub kept_take: Arc<RwLock<Option<KeptTake>>>,
    /// The session's taste, shared with the plugin's persisted state and the editor: the worker
    /// reads it to judge answers and writes it when the musician keeps one or asks again.
    pub taste: Arc<RwLock<TasteStore>>,
    /// The model the project chose (`None`: the default, [`WorkerConfig::model`]), shared with the
    /// plugin's persisted state: the worker writes it when a pick succeeds and follows it when a
    /// project loads (see [`super::choice`]).
    pub chosen: Arc<RwLock<Option<ModelChoice>>>,
    /// The loaded model's style names in control order (see [`crate::files::catalog::style_name`]),
    /// shared with the parameters' text: the worker writes them whenever a model loads.
    pub style_names: Arc<RwLock<Vec<String>>>,
}

/// Where the worker reads its live settings from, before each note it plans: the plugin's
/// parameters (read from their atomics), or settings that never change (tests and tools).
/// Called on the worker thread only.
pub trait SettingsSource: Send {
    /// The settings as they are now.
    fn read(&self) -> WorkerSettings;
}

/// Fixed settings: the worker plays by these whatever happens.
impl SettingsSource for WorkerSettings {
    fn read(&self) -> WorkerSettings {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hearing_switches_come_from_a_list_of_what_stays_on() {
        assert_eq!(Hearing::from_env_value(None), Hearing::default());
        assert_eq!(Hearing::from_env_value(Some(" ")), Hearing::default());
        let none = Hearing::from_env_value(Some("none"));
        assert!(!none.memory && !none.expect && !none.correct && !none.guard);
        let some = Hearing::from_env_value(Some("memory, Correct"));
        assert!(some.memory && !some.expect && some.correct && !some.guard);
    }
}
