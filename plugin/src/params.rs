//! Descant's parameters. Created on the main thread; read (atomically) by the audio thread, the
//! inference worker (through a settings closure) and the GUI; written by the host and the GUI.
//!
//! Ids (the `#[id]` strings) are persisted in host projects: never change one once shipped. Every parameter has a step size, so its
//! value→text→value round trip is exact (the text has as many decimals as the step).

use std::sync::Arc;

use descant_inference::decode::steering::{KeySetting, Steering};
use descant_inference::files::take::KeptTake;
use descant_inference::music::key::Key;
use descant_inference::music::taste::TasteStore;
use descant_inference::worker::ModelChoice;
use nice_plug::prelude::*;
use parking_lot::RwLock;

pub use crate::choices::{answer_length, EndingChoice, ModeChoice, VoiceChoice, MATCH_THE_CALL};
pub use crate::editor_memory::{EditorMemory, EDITOR_MAX, EDITOR_MIN};
use crate::learn::MidiLearn;
use crate::param_kinds::{key_param, named, percent_param, register_param, CHANNEL_NAMES};
use crate::styles::style_param;

/// All of Descant's parameters and the editor's persisted state.
#[derive(Params)]
pub struct DescantParams {
    /// The editor's size and settings, persisted with the project. Written by the GUI thread (on
    /// resize), read when the editor window opens (it resizes itself to it); the audio thread
    /// never touches it.
    #[persist = "editor"]
    pub editor_memory: RwLock<EditorMemory>,

    /// The kept loop take, persisted with the project. Written by the worker when a take is kept,
    /// read by the worker (adopting it after a project loads) and the GUI; never by audio.
    #[persist = "kept-take"]
    pub kept_take: Arc<RwLock<Option<KeptTake>>>,

    /// The session's taste (`descant_inference::music::taste`), persisted with the project: what
    /// the musician's `Keep`s and `Again`s taught the critic. Written by the worker when it learns
    /// and by the GUI (`Reset taste`); read by the worker when it judges an answer and by the
    /// GUI; never by audio. A damaged blob loads as its refusal (the editor says why).
    #[persist = "taste"]
    pub taste: Arc<RwLock<TasteStore>>,

    /// The keys and controllers learned for `Again`, `Keep` and `Answer now` (atomics), persisted
    /// with the project. Armed and forgotten by the GUI, learned and read by the audio thread for
    /// every incoming event (wait-free), loaded and saved by the main thread.
    #[persist = "midi-learn"]
    pub midi_learn: Arc<MidiLearn>,

    /// The model the project plays: the default model (a new project), a built-in one by id, or
    /// a file by path and SHA-256; `None` in a project saved before `descant-open`, which plays
    /// the non-commercial model it played then (`worker::choice`). Persisted with the project. Written by the worker when the musician's pick loads, read by the worker
    /// when a project loads (it follows it, or falls back with a notice); never by audio.
    #[persist = "model"]
    pub chosen_model: Arc<RwLock<Option<ModelChoice>>>,

    /// The loaded model's style names in control order: `Style` and `Style B` show them. Written
    /// by the worker when a model loads; read by the GUI and by the host's parameter text (main
    /// thread); never by audio. Not persisted: it follows the model.
    pub style_names: Arc<RwLock<Vec<String>>>,

    /// How Descant plays with the track. Read by audio (who may interrupt whom) and the worker.
    #[id = "mode"]
    pub mode: EnumParam<ModeChoice>,

    /// Answer mode: how long an answer lasts: "Match the call" ([`MATCH_THE_CALL`]), a number of
    /// bars, or 0 = until the player plays. Read by the worker.
    #[id = "answer_len"]
    pub answer_bars: IntParam,

    /// Answer mode: how an answer ends (Home, Open, Free). Read by the worker's critic.
    #[id = "ending"]
    pub ending: EnumParam<EndingChoice>,

    /// Answer mode: Echo (+100 %) ↔ Contrast (−100 %), how much an answer keeps the call's rhythm.
    /// Read by the worker's critic.
    #[id = "echo"]
    pub echo: FloatParam,

    /// Loop mode without a host loop: the cycle in bars. Read by the worker.
    #[id = "loop_len"]
    pub loop_bars: IntParam,

    /// Continue and Loop: phrases of this many bars end with a cadence and a breath (0 = Off: the
    /// line runs on). Read by the worker before every note.
    #[id = "phrase"]
    pub phrase_bars: IntParam,

    /// Loop mode: repeat the current take exactly, read by the worker at each cycle. In Answer
    /// mode every change of it is a `Keep` (the session's taste learns the answer was wanted).
    /// Read by the worker.
    #[id = "keep"]
    pub keep: BoolParam,

    /// `Again`: every change of this switch redraws: the loop take at the next cycle, the latest
    /// answer or the Continue line from the next bar line (the editor's button flips it; a host,
    /// a controller or automation may too). Called `Regenerate` before 0.3 (the id stays).
    /// Read by the worker.
    #[id = "regen"]
    pub again: BoolParam,

    /// `Answer now`: every change of this switch answers the phrase played so far at the next
    /// bar line, without waiting for `Answer after` (a footswitch's hand-over). Read by the
    /// worker.
    #[id = "answer_now"]
    pub answer_now: BoolParam,

    /// Timing and velocity variation; 0 keeps every note on the grid. Read by the worker per note.
    #[id = "humanize"]
    pub humanize: FloatParam,

    /// Whether Descant plays at all; off releases its notes at once. Read by audio and worker.
    #[id = "enabled"]
    pub enabled: BoolParam,

    /// The host's bypass (flagged as such, so a host's own bypass button drives it): on, Descant
    /// is as if not there: its sounding notes are released at once, it plays nothing, and every
    /// MIDI event passes through whatever `Pass through` says. Read by audio and the worker.
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// Softmax temperature: lower is safer, higher is wilder. Read by the worker per note.
    #[id = "temp"]
    pub temperature: FloatParam,

    /// Nucleus sampling: keep the most likely tokens up to this mass. Read by the worker per note.
    #[id = "top_p"]
    pub top_p: FloatParam,

    /// Beats of silence after the player's phrase before Descant answers. Read by the worker.
    #[id = "answer_after"]
    pub answer_after: FloatParam,

    /// Whether the player's notes go out unchanged alongside Descant's. Read by audio.
    #[id = "thru"]
    pub pass_through: BoolParam,

    /// Whether Descant runs its own clock (at `Tempo`) while the host transport is stopped.
    /// Read by audio.
    #[id = "free_run"]
    pub free_run: BoolParam,

    /// Tempo of Descant's own clock (no host transport, or free run). Read by audio.
    #[id = "tempo"]
    pub tempo: FloatParam,

    /// First style of the blend: 0 "Any", then a style by its value among
    /// [`crate::styles::STYLE_NAMES`], which the loaded model keeps in a slot of its own
    /// ([`crate::styles::slot_of_value`]; its names in [`DescantParams::style_names`]). Read by
    /// the worker per note.
    #[id = "style"]
    pub style: IntParam,

    /// Second style of the blend. Read by the worker per note.
    #[id = "style_b"]
    pub style_b: IntParam,

    /// 0 = all `Style`, 1 = all `Style B`. Read by the worker per note.
    #[id = "blend"]
    pub blend: FloatParam,

    /// Target notes per beat; 0 is "Auto" (follow the player). Read by the worker per note.
    #[id = "density"]
    pub density: FloatParam,

    /// Lowest key Descant plays (lower notes fold up by octaves). Read by the worker per note.
    #[id = "reg_low"]
    pub register_low: IntParam,

    /// Highest key Descant plays (higher notes fold down). Read by the worker per note.
    #[id = "reg_high"]
    pub register_high: IntParam,

    /// -1 leans minor, +1 leans major. Read by the worker per note.
    #[id = "mood"]
    pub mood: FloatParam,

    /// 0 = Auto (detected from the player), else 1 + the key's index ([`Key::from_index`]).
    /// Read by the worker per note.
    #[id = "key"]
    pub key: IntParam,

    /// How strictly notes stay in the key's scale (1 = only scale notes). Read by the worker.
    #[id = "scale_lock"]
    pub scale_lock: FloatParam,

    /// MIDI channel whose notes are chords to play over (0 = off): they pass through, they are
    /// not a phrase to answer, and they pull Descant's strong-beat notes to chord tones. Read by
    /// audio (routing) and the worker (bias on or off).
    #[id = "chord_ch"]
    pub chord_channel: IntParam,

    /// Where Descant's line lies relative to what it hears. Read by the worker per note.
    #[id = "voice"]
    pub voice: EnumParam<VoiceChoice>,

    /// Whether a key played three times running is discouraged. Read by the worker per note.
    #[id = "rep_guard"]
    pub repetition_guard: BoolParam,

    /// Whether a note that would copy a distinctive training melody (7 intervals verbatim) is
    /// resampled. Read by the worker per note.
    #[id = "orig_guard"]
    pub originality_guard: BoolParam,

    /// Seed of the take: the same seed and the same playing give the same notes. Read by the
    /// worker when an answer starts.
    #[id = "seed"]
    pub seed: IntParam,
}

impl DescantParams {
    /// Whether Descant plays: `Enabled` on and the host's bypass off. Any thread (two atomic
    /// reads).
    pub fn playing(&self) -> bool {
        self.enabled.value() && !self.bypass.value()
    }

    /// The steering the worker should apply now. Called on the worker thread.
    pub fn steering(&self) -> Steering {
        // A `Style` value names a style; the loaded model says in which slot it keeps it.
        let names = self.style_names.read();
        let style = |v: i32| crate::styles::slot_of_value(v, &names);
        let density = self.density.value();
        let key = self.key.value();
        Steering {
            style_a: style(self.style.value()),
            style_b: style(self.style_b.value()),
            blend: self.blend.value(),
            density: (density > 0.0).then_some(density),
            register_low: self.register_low.value().clamp(0, 127) as u8,
            register_high: self.register_high.value().clamp(0, 127) as u8,
            mood: self.mood.value(),
            key: if key > 0 {
                KeySetting::Fixed(Key::from_index((key - 1) as usize))
            } else {
                KeySetting::Auto
            },
            scale_lock: self.scale_lock.value(),
            chord_bias: self.chord_channel.value() > 0,
            repetition_guard: self.repetition_guard.value(),
            originality_guard: self.originality_guard.value(),
            voice: self.voice.value().into(),
        }
    }
}

impl Default for DescantParams {
    fn default() -> Self {
        // Until a model loads, the default built-in model's styles.
        let style_names = Arc::new(RwLock::new(
            descant_inference::files::catalog::builtin(descant_inference::DEFAULT_BUILTIN).styles,
        ));
        DescantParams {
            editor_memory: RwLock::new(EditorMemory::default()),
            kept_take: Arc::new(RwLock::new(None)),
            taste: Arc::new(RwLock::new(TasteStore::default())),
            midi_learn: Arc::new(MidiLearn::default()),
            // A new project plays the default model and says so when saved; a project saved
            // before there was a choice of built-in models loads without one (see `lib.rs`).
            chosen_model: Arc::new(RwLock::new(Some(ModelChoice::default_model()))),
            mode: EnumParam::new("Mode", ModeChoice::Answer),
            answer_bars: IntParam::new(
                "Answer length",
                MATCH_THE_CALL,
                IntRange::Linear {
                    min: MATCH_THE_CALL,
                    max: 16,
                },
            )
            .with_value_to_string(Arc::new(|v| match v {
                v if v < 0 => "Match the call".to_string(),
                0 => "Until you play".to_string(),
                v => format!("{v} bars"),
            }))
            .with_string_to_value(Arc::new(|s| {
                let s = s.trim();
                if s.eq_ignore_ascii_case("match the call") {
                    Some(MATCH_THE_CALL)
                } else if s.eq_ignore_ascii_case("until you play") {
                    Some(0)
                } else {
                    s.trim_end_matches("bars").trim().parse().ok()
                }
            })),
            ending: EnumParam::new("Ending", EndingChoice::Home),
            echo: FloatParam::new(
                "Echo",
                0.5,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01)
            .with_unit("%")
            .with_value_to_string(formatters::v2s_f32_percentage(0))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            loop_bars: IntParam::new("Loop length", 2, IntRange::Linear { min: 1, max: 16 })
                .with_unit(" bars"),
            phrase_bars: IntParam::new("Phrase length", 4, IntRange::Linear { min: 0, max: 16 })
                .with_value_to_string(Arc::new(|bars| match bars {
                    0 => "Off".to_string(),
                    1 => "1 bar".to_string(),
                    n => format!("{n} bars"),
                }))
                .with_string_to_value(Arc::new(|text| {
                    let text = text.trim();
                    if text.eq_ignore_ascii_case("off") {
                        return Some(0);
                    }
                    text.trim_end_matches("bars")
                        .trim_end_matches("bar")
                        .trim()
                        .parse()
                        .ok()
                })),
            keep: BoolParam::new("Keep", false),
            again: BoolParam::new("Again", false),
            answer_now: BoolParam::new("Answer now", false),
            humanize: percent_param("Humanize", 0.0),
            enabled: BoolParam::new("Enabled", true),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            temperature: FloatParam::new(
                "Temperature",
                1.0,
                FloatRange::Linear { min: 0.1, max: 2.0 },
            )
            .with_step_size(0.01),
            top_p: FloatParam::new("Top-p", 0.95, FloatRange::Linear { min: 0.5, max: 1.0 })
                .with_step_size(0.01),
            answer_after: FloatParam::new(
                "Answer after",
                2.0,
                FloatRange::Linear { min: 0.5, max: 8.0 },
            )
            .with_step_size(0.25)
            .with_unit(" beats"),
            pass_through: BoolParam::new("Pass through", true),
            free_run: BoolParam::new("Free run", false),
            tempo: FloatParam::new(
                "Tempo",
                120.0,
                FloatRange::Linear {
                    min: 40.0,
                    max: 240.0,
                },
            )
            .with_step_size(0.1)
            .with_unit(" BPM"),
            style: style_param("Style", &style_names),
            style_b: style_param("Style B", &style_names),
            blend: percent_param("Blend", 0.0),
            density: FloatParam::new("Density", 0.0, FloatRange::Linear { min: 0.0, max: 4.0 })
                .with_step_size(0.05)
                .with_value_to_string(Arc::new(|v| {
                    if v <= 0.0 {
                        "Auto".to_string()
                    } else {
                        format!("{v:.2} notes/beat")
                    }
                }))
                .with_string_to_value(Arc::new(|s| {
                    let s = s.trim();
                    if s.eq_ignore_ascii_case("auto") {
                        Some(0.0)
                    } else {
                        s.trim_end_matches("notes/beat").trim().parse().ok()
                    }
                })),
            register_low: register_param("Lowest note", 48),
            register_high: register_param("Highest note", 86),
            mood: FloatParam::new(
                "Mood",
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01)
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            key: key_param(),
            scale_lock: percent_param("Scale lock", 0.0),
            chord_channel: named(
                IntParam::new("Chord channel", 0, IntRange::Linear { min: 0, max: 16 }),
                &CHANNEL_NAMES,
            ),
            voice: EnumParam::new("Voice", VoiceChoice::Either),
            repetition_guard: BoolParam::new("Repetition guard", true),
            originality_guard: BoolParam::new("Originality guard", true),
            seed: IntParam::new("Seed", 1, IntRange::Linear { min: 1, max: 9999 }),
            style_names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::styles::{STYLE_IDS, STYLE_NAMES};

    #[test]
    fn the_style_choices_follow_the_shipped_sidecar() {
        let contract = descant_inference::model::contract::ModelContract::parse(
            descant_inference::NON_COMMERCIAL_SIDECAR,
        )
        .expect("shipped sidecar");
        assert_eq!(contract.control.styles, STYLE_IDS);
        assert_eq!(STYLE_NAMES[0], "Any");
    }

    /// The non-commercial model's five styles as the loaded ones (the default model has one);
    /// Irish & Scottish is in its third slot.
    fn five_styles(p: &DescantParams) {
        *p.style_names.write() = STYLE_NAMES[1..=STYLE_IDS.len()]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    }

    /// Sets the parameter with id `id` to the plain value whose text is `text`, as a host would.
    fn set(params: &DescantParams, id: &str, text: &str) {
        let (_, ptr, _) = params
            .param_map()
            .into_iter()
            .find(|(pid, _, _)| pid == id)
            .unwrap_or_else(|| panic!("no parameter {id}"));
        // SAFETY: `ptr` points into `params`, which outlives this call; nothing else touches the
        // parameter meanwhile (one test thread).
        unsafe {
            let v = ptr
                .string_to_normalized_value(text)
                .unwrap_or_else(|| panic!("{id}: cannot parse {text}"));
            ptr._internal_set_normalized_value(v);
        }
    }

    #[test]
    fn the_defaults_steer_nothing() {
        // No chord channel, so no chord bias; everything else as the engine's neutral default.
        let s = DescantParams::default().steering();
        assert_eq!(
            s,
            Steering {
                chord_bias: false,
                ..Steering::default()
            }
        );
    }

    #[test]
    fn every_steering_parameter_reaches_the_worker() {
        let p = DescantParams::default();
        five_styles(&p);
        set(&p, "style", "Chorale");
        set(&p, "style_b", "Irish & Scottish");
        set(&p, "blend", "25%");
        set(&p, "density", "2.5");
        set(&p, "reg_low", "E3");
        set(&p, "reg_high", "G5");
        set(&p, "mood", "-0.5");
        set(&p, "key", "D dorian");
        set(&p, "scale_lock", "80%");
        set(&p, "chord_ch", "2");
        set(&p, "rep_guard", "Off");
        set(&p, "orig_guard", "Off");
        let s = p.steering();
        assert_eq!((s.style_a, s.style_b), (Some(3), Some(2)));
        assert!((s.blend - 0.25).abs() < 1e-6);
        assert_eq!(s.density, Some(2.5));
        assert_eq!((s.register_low, s.register_high), (52, 79));
        assert!((s.mood + 0.5).abs() < 1e-6);
        assert_eq!(
            s.key,
            KeySetting::Fixed(Key {
                tonic: 2,
                mode: descant_inference::music::key::Mode::Dorian
            })
        );
        assert!((s.scale_lock - 0.8).abs() < 1e-6);
        assert!(s.chord_bias);
        assert!(!s.repetition_guard && !s.originality_guard);
        set(&p, "density", "Auto");
        set(&p, "key", "Auto");
        set(&p, "style", "Any");
        let s = p.steering();
        assert_eq!(
            (s.density, s.key, s.style_a),
            (None, KeySetting::Auto, None)
        );
    }

    #[test]
    fn the_style_text_follows_the_loaded_models_styles() {
        let p = DescantParams::default();
        let text = |v: i32| {
            p.style
                .normalized_value_to_string(p.style.preview_normalized(v), false)
        };
        assert_eq!(text(3), "Irish & Scottish");
        assert_eq!(text(6), "Yours (not in this model: Any)");
        // A learned model with a style of its own after the built-in ones, and one of other styles.
        p.style_names.write().push("Yours".to_owned());
        assert_eq!(text(6), "Yours");
        *p.style_names.write() = vec!["Klezmer".to_owned(), "Yours".to_owned()];
        assert_eq!(text(1), "Klezmer");
        assert_eq!(text(3), "Irish & Scottish (not in this model: Any)");
        set(&p, "style", "klezmer");
        assert_eq!(p.steering().style_a, Some(0));
        set(&p, "style", "Yours");
        assert_eq!(p.steering().style_a, Some(1));
        set(&p, "style", "Renaissance");
        assert_eq!(
            p.steering().style_a,
            None,
            "a style the model lacks plays as Any"
        );
    }

    #[test]
    fn a_style_is_the_same_choice_on_a_model_that_keeps_it_in_another_slot() {
        let p = DescantParams::default();
        five_styles(&p);
        set(&p, "style", "Irish & Scottish");
        assert_eq!((p.style.value(), p.steering().style_a), (3, Some(2)));
        // `descant-open` has that style alone, in its first slot.
        *p.style_names.write() = vec!["Irish & Scottish".to_owned()];
        assert_eq!((p.style.value(), p.steering().style_a), (3, Some(0)));
        set(&p, "style", "Chorale");
        assert_eq!(p.steering().style_a, None);
        assert_eq!(
            p.style
                .normalized_value_to_string(p.style.preview_normalized(4), false),
            "Chorale (not in this model: Any)"
        );
    }
}
