//! Descant's parameters. Created on the main thread; read (atomically) by the audio thread, the
//! inference worker (through a settings closure) and the GUI; written by the host and the GUI.
//!
//! Ids (the `#[id]` strings) are persisted in host projects: never change one once shipped. Every parameter has a step size, so its
//! value→text→value round trip is exact (the text has as many decimals as the step).

use std::sync::Arc;

use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;

/// All of Descant's parameters and the editor's persisted state.
#[derive(Params)]
pub struct DescantParams {
    /// Editor window size and zoom. Read and written by the GUI thread. (Not persisted yet:
    /// nice-plug-egui 0.6 gives `EguiEditorState` no persistence.)
    pub editor_state: Arc<EguiEditorState>,

    /// Whether Descant plays at all; off releases its notes at once. Read by audio and worker.
    #[id = "enabled"]
    pub enabled: BoolParam,

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
}

impl Default for DescantParams {
    fn default() -> Self {
        DescantParams {
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 360.0), 1.0),
            enabled: BoolParam::new("Enabled", true),
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
        }
    }
}
