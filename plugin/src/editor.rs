//! The editor: the piano roll, Descant's controls and the model's status. GUI thread only; reads
//! the worker's status and plan (`parking_lot` locks the audio thread never touches), drains the
//! roll feed, and sets parameters through the host.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use descant_inference::events::Action;
use descant_inference::files::catalog;
use descant_inference::music::key::Key;
use descant_inference::music::taste::TasteStore;
use descant_inference::worker::{ModelStatus, WorkerShared};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::SizeConstraints;
use nice_plug::prelude::*;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::learn::{self, MidiLearn};
use crate::params::{DescantParams, ModeChoice, EDITOR_MAX, EDITOR_MIN};
use crate::picker::ModelPicker;
use crate::preset_menu::PresetMenu;
use crate::roll::RollReceiver;
use crate::takefile::{self, PlayedNote, TakeClock};
use crate::widgets::{choice, press, segmented, slider, status, style_choice, toggle};

mod roll_view;

/// Background of the piano roll (the editor screenshot test looks for it).
pub const ROLL_BACKGROUND: egui::Color32 = egui::Color32::from_rgb(22, 27, 38);
/// Descant's notes in the roll.
const DESCANT_COLOR: egui::Color32 = egui::Color32::from_rgb(245, 160, 60);
/// The player's notes in the roll.
const PLAYER_COLOR: egui::Color32 = egui::Color32::from_rgb(90, 170, 240);
/// The roll's bar numbers.
const BAR_NUMBER_COLOR: egui::Color32 = egui::Color32::from_gray(150);
/// The roll's key-and-chord line.
const ROLL_LABEL_COLOR: egui::Color32 = egui::Color32::from_gray(200);
/// White keys of the keyboard strip (the standalone screenshot test looks for it).
const WHITE_KEY_COLOR: egui::Color32 = egui::Color32::from_gray(215);
/// Note names on the white keys.
const KEY_NAME_COLOR: egui::Color32 = egui::Color32::from_gray(30);
/// Width of the roll's keyboard strip (logical pixels).
const KEYBOARD_WIDTH: f32 = 34.0;
/// Beats of the past the roll shows.
const ROLL_PAST_BEATS: f64 = 12.0;
/// Beats of the future the roll shows (the plan).
const ROLL_FUTURE_BEATS: f64 = 4.0;
/// Notes the roll remembers (enough for `Save take…` of 64 busy bars).
const ROLL_HISTORY: usize = 4096;

/// A note in the roll's memory.
#[derive(Debug, Clone, Copy)]
struct RollNote {
    /// The note as played.
    note: PlayedNote,
    /// Whether Descant played it.
    descant: bool,
}

/// The egui app behind the editor window.
pub struct DescantEditor {
    /// Parameters, to show and set. Shared with the plugin.
    params: Arc<DescantParams>,
    /// Worker status, counters and plan, to show. Shared with the plugin and the worker.
    shared: Arc<WorkerShared>,
    /// The roll feed from the audio thread (locked here only).
    roll: RollReceiver,
    /// What was played, oldest first (drained from `roll`).
    history: VecDeque<RollNote>,
    /// The result of the latest `Save take…`, to show.
    saved: Option<String>,
    /// The host context for setting parameters; given when the window opens.
    gui: Option<GuiContext>,
    /// The model picker's memory (the models folder's list, "Load file…").
    picker: ModelPicker,
    /// The preset row's memory (the presets listed, the one loaded, "Save as…").
    presets: PresetMenu,
    /// The size the window should take when it opens (the project's), until it has asked for it;
    /// meanwhile resizes are not saved (they would overwrite the project's size).
    restore_size: Option<(u32, u32)>,
}

/// Builds the editor (called by the host wrapper on the main thread), at the size persisted in
/// the project.
pub fn create(
    params: Arc<DescantParams>,
    shared: Arc<WorkerShared>,
    roll: RollReceiver,
) -> Option<EguiEditor<DescantEditor>> {
    // The host asks for the editor once, before a project's state loads: the window starts at the
    // default size and resizes itself to the project's size when it opens (see `ui`).
    let memory = params.editor_memory.read().bounded();
    let state = EguiEditorState::from_size(
        LogicalSize::new(memory.width as f32, memory.height as f32),
        1.0,
    );
    let resize = ResizeHint {
        can_resize: true,
        can_resize_horizontally: true,
        can_resize_vertically: true,
        size_constraints: SizeConstraints::Logical {
            min_size: Some(LogicalSize::new(EDITOR_MIN.0 as f32, EDITOR_MIN.1 as f32)),
            max_size: Some(LogicalSize::new(EDITOR_MAX.0 as f32, EDITOR_MAX.1 as f32)),
        },
        ..ResizeHint::NON_RESIZABLE
    };
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Descant")
            .with_resize_hint(resize),
        DescantEditor {
            params,
            shared,
            roll,
            history: VecDeque::with_capacity(ROLL_HISTORY),
            saved: None,
            gui: None,
            picker: ModelPicker::default(),
            presets: PresetMenu::default(),
            restore_size: None,
        },
    )
}

/// One line of text describing the model's status.
pub fn status_line(status: &ModelStatus) -> String {
    match status {
        ModelStatus::Loading => "Model: loading…".to_owned(),
        ModelStatus::Ready {
            name,
            trained: false,
            load_ms,
            ..
        } => format!("Model: {name} (untrained placeholder: random notes), loaded in {load_ms} ms"),
        ModelStatus::Ready { name, load_ms, .. } => {
            format!("Model: {name}, ready (loaded in {load_ms} ms)")
        }
        ModelStatus::Error(reason) => {
            format!("Model error — Descant passes MIDI through only.\n{reason}")
        }
    }
}

/// What the originality guard has done.
fn originality_line(shared: &WorkerShared) -> String {
    let shared = &shared.telemetry;
    if !shared.originality_available.load(Ordering::Relaxed) {
        return "Originality guard: this model has no index".to_owned();
    }
    match shared.originality_interventions.load(Ordering::Relaxed) {
        0 => "Originality guard: no copied phrase so far".to_owned(),
        n => format!(
            "Originality guard: resampled {n} notes that would have copied a training melody"
        ),
    }
}

/// The key the scale lock and mood use now, as the worker last reported it.
fn key_line(shared: &WorkerShared) -> String {
    match shared.telemetry.key_in_use.load(Ordering::Relaxed) {
        0 => "Key in use: none yet (Auto listens to the player)".to_owned(),
        k => format!("Key in use: {}", Key::from_index(k as usize - 1).name()),
    }
}

/// Timing: the look-ahead, deadline misses and the model's speed.
fn timing_line(shared: &WorkerShared) -> String {
    let tempo = shared.block.read().tempo.max(1.0);
    let shared = &shared.telemetry;
    let beats = shared.lookahead_beats.load();
    format!(
        "Look-ahead {:.0} ms ({beats:.2} beats)   missed deadlines (not played): {}   \
         per-token: {} µs   notes planned: {}   queue full: {}",
        beats * 60_000.0 / tempo,
        shared.late_notes.load(Ordering::Relaxed),
        shared.step_micros.load(Ordering::Relaxed),
        shared.generated_notes.load(Ordering::Relaxed),
        shared.queue_full_drops.load(Ordering::Relaxed),
    )
}

impl DescantEditor {
    /// Writes the last bars of Descant's playing as a MIDI file.
    fn save_take(&mut self) {
        let bars = self.params.editor_memory.read().take_bars;
        let block = self.shared.block.read();
        let clock = TakeClock {
            playhead: block.playhead_beat,
            bar_start: block.bar_start_beat,
            tempo: block.tempo,
            meter: block.meter,
        };
        // The take says which model played it and what may be done with it: a take is what a
        // musician releases.
        let model = match self.shared.status.lock().clone() {
            ModelStatus::Ready {
                name,
                path,
                builtin,
                ..
            } => {
                let terms = catalog::playing(path.as_deref(), builtin).terms;
                format!("{name} ({})", terms.says())
            }
            _ => "no model".to_owned(),
        };
        let text = format!(
            "Generated by Descant {} with the model {model} (seed {}, mode {:?}); not a human \
             performance",
            env!("CARGO_PKG_VERSION"),
            self.params.seed.value(),
            self.params.mode.value(),
        );
        let notes: Vec<PlayedNote> = self
            .history
            .iter()
            .filter(|n| n.descant)
            .map(|n| n.note)
            .collect();
        let bytes = takefile::take_file(&notes, bars, clock, &text);
        self.saved = Some(match takefile::save(&takefile::takes_dir(), &bytes) {
            Ok(path) => format!("Saved {}", path.display()),
            Err(e) => format!("Could not save the take: {e}"),
        });
    }
}

impl NiceEguiApp for DescantEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(nice_gui_ctx);
        let memory = self.params.editor_memory.read().bounded();
        self.restore_size = Some((memory.width, memory.height));
        Ok(())
    }

    fn resized(&mut self, size: nice_plug_egui::baseview::WindowSize) {
        if self.restore_size.is_some() {
            return;
        }
        let mut memory = self.params.editor_memory.write();
        memory.width = size.logical.width.round() as u32;
        memory.height = size.logical.height.round() as u32;
        *memory = memory.bounded();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        if let Some((w, h)) = self.restore_size.take() {
            let now = ui.ctx().content_rect().size();
            if (now.x - w as f32).abs() > 1.0 || (now.y - h as f32).abs() > 1.0 {
                ui.ctx()
                    .send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
                        w as f32, h as f32,
                    )));
            }
        }
        self.draw(ui);
    }
}

impl DescantEditor {
    /// The whole window: the header, the model and preset rows, the roll, and the sections.
    fn draw(&mut self, ui: &mut egui::Ui) {
        let playhead = self.shared.block.read().playhead_beat;
        self.drain_roll(playhead);
        self.draw_header(ui);
        let yours = self.picker.show(ui, &self.shared);
        if let Some(pick) = self.presets.show(ui, &self.params, self.gui.as_ref()) {
            *self.shared.notice.lock() = None;
            self.shared.request_pick(pick);
        }
        let roll_height = (ui.available_height() * 0.38).clamp(140.0, 600.0);
        self.draw_roll(ui, roll_height);
        if let Some(line) = roll_view::veto_line(&self.shared) {
            status(ui, line);
        }
        self.draw_take_row(ui);
        status(ui, timing_line(&self.shared));
        if self.params.bypass.value() {
            status(
                ui,
                egui::RichText::new(
                    "Bypassed by the host: Descant plays nothing and your MIDI passes through",
                )
                .color(egui::Color32::from_rgb(230, 190, 90)),
            );
        }
        ui.separator();
        let Some(gui) = &self.gui else {
            return;
        };
        let setter = gui.param_setter();
        let p = &self.params;
        if let Some(value) = yours {
            setter.begin_set_parameter(&p.style);
            setter.set_parameter(&p.style, value);
            setter.end_set_parameter(&p.style);
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.columns(2, |cols| {
                self.play_and_safety(&mut cols[0], &setter);
                self.steer_and_harmony(&mut cols[1], &setter);
            });
        });
    }

    /// The header: the name, `Reload model` and the model's status.
    fn draw_header(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Descant");
            let model = self.shared.status.lock().clone();
            let color = match model {
                ModelStatus::Error(_) => egui::Color32::from_rgb(230, 110, 90),
                ModelStatus::Ready { trained: false, .. } => egui::Color32::from_rgb(230, 190, 90),
                _ => ui.visuals().text_color(),
            };
            if ui
                .small_button("Reload model")
                .on_hover_text(
                    "Load the ONNX Runtime library and the model again (after replacing a file)",
                )
                .clicked()
            {
                self.shared.request_reload();
            }
            // Last, so a long reason (a missing library's path) wraps in the width left.
            status(ui, egui::RichText::new(status_line(&model)).color(color));
        });
    }

    /// `Save take…` and how many bars it saves.
    fn draw_take_row(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if ui
                .button("Save take…")
                .on_hover_text("Write the last bars Descant played as a MIDI file")
                .clicked()
            {
                self.save_take();
            }
            let mut bars = self.params.editor_memory.read().take_bars;
            if ui
                .add(
                    egui::DragValue::new(&mut bars)
                        .range(1..=64)
                        .suffix(" bars"),
                )
                .changed()
            {
                self.params.editor_memory.write().take_bars = bars;
            }
            if let Some(saved) = &self.saved {
                ui.label(saved);
            }
        });
    }

    /// The left column: the Play and Safety sections.
    fn play_and_safety(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = &self.params;
        ui.strong("Play");
        segmented(ui, setter, &p.mode);
        match p.mode.value() {
            ModeChoice::Answer => {
                slider(ui, setter, &p.answer_after);
                choice(ui, setter, &p.answer_bars);
                slider(ui, setter, &p.echo);
                ui.horizontal(|ui| {
                    press(ui, setter, &p.keep);
                    press(ui, setter, &p.again);
                    press(ui, setter, &p.answer_now);
                });
                learn_row(ui, &p.midi_learn);
                kept_line(ui, &self.shared);
                if let Some((scores, n)) = *self.shared.answer.lock() {
                    status(ui, format!("Last answer, best of {n}: {}", scores.line()))
                        .on_hover_text("The critic's scores of the answer Descant played");
                }
                ui.horizontal(|ui| {
                    status(ui, p.taste.read().line()).on_hover_text(
                        "What your Keeps and Agains taught the critic this session; it only \
                         chooses among answers that keep the key, the register and the voice",
                    );
                    if ui
                        .small_button("Reset taste")
                        .on_hover_text("Forget what the taste learned")
                        .clicked()
                    {
                        *p.taste.write() = TasteStore::default();
                    }
                });
            }
            ModeChoice::Continue => {
                choice(ui, setter, &p.phrase_bars);
                ui.horizontal(|ui| {
                    press(ui, setter, &p.keep);
                    press(ui, setter, &p.again);
                });
                learn_row(ui, &p.midi_learn);
                kept_line(ui, &self.shared);
            }
            ModeChoice::Loop => {
                choice(ui, setter, &p.loop_bars);
                choice(ui, setter, &p.phrase_bars);
                ui.horizontal(|ui| {
                    toggle(ui, setter, &p.keep);
                    press(ui, setter, &p.again);
                });
                learn_row(ui, &p.midi_learn);
                let kept = self.shared.telemetry.kept_take_beats.load();
                if kept > 0.0 {
                    status(ui, format!("Keeping a take of {kept} beats"));
                }
            }
        }
        ui.horizontal(|ui| {
            toggle(ui, setter, &p.enabled);
            toggle(ui, setter, &p.pass_through);
            toggle(ui, setter, &p.free_run);
        });
        slider(ui, setter, &p.humanize);
        slider(ui, setter, &p.tempo);
        ui.add_space(8.0);
        ui.strong("Safety");
        ui.horizontal(|ui| {
            toggle(ui, setter, &p.originality_guard);
            toggle(ui, setter, &p.repetition_guard);
        });
        slider(ui, setter, &p.seed);
        status(ui, originality_line(&self.shared));
    }

    /// The right column: the Steer and Harmony sections.
    fn steer_and_harmony(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = &self.params;
        ui.strong("Steer");
        let styles = p.style_names.read().clone();
        style_choice(ui, setter, &p.style, &styles);
        style_choice(ui, setter, &p.style_b, &styles);
        slider(ui, setter, &p.blend);
        slider(ui, setter, &p.density);
        slider(ui, setter, &p.register_low);
        slider(ui, setter, &p.register_high);
        slider(ui, setter, &p.mood);
        slider(ui, setter, &p.temperature);
        slider(ui, setter, &p.top_p);
        ui.add_space(8.0);
        ui.strong("Harmony");
        choice(ui, setter, &p.key);
        slider(ui, setter, &p.scale_lock);
        choice(ui, setter, &p.chord_channel);
        choice(ui, setter, &p.voice);
        if p.mode.value() == ModeChoice::Answer {
            choice(ui, setter, &p.ending);
        }
        status(ui, key_line(&self.shared));
    }
}

/// Where the latest kept phrase was saved, if one was.
fn kept_line(ui: &mut egui::Ui, shared: &WorkerShared) {
    if let Some(said) = shared.kept.lock().clone() {
        status(ui, said);
    }
}

/// The MIDI learn row: each action's learned key or controller; a click waits for the next
/// one heard (a click again stops waiting), a right click forgets it.
fn learn_row(ui: &mut egui::Ui, learn: &MidiLearn) {
    ui.horizontal_wrapped(|ui| {
        ui.label("MIDI learn:");
        for action in learn::ACTIONS {
            let name = match action {
                Action::Again => "Again",
                Action::Keep => "Keep",
                Action::AnswerNow => "Answer now",
            };
            let waiting = learn.armed() == Some(action);
            let text = match (waiting, learn.binding(action)) {
                (true, _) => format!("{name}: play a key or move a controller…"),
                (false, Some(b)) => format!("{name}: {}", b.text()),
                (false, None) => format!("{name}: none"),
            };
            let button = ui.small_button(text).on_hover_text(
                "Click, then press the key, pad or footswitch to use for this action; right-click \
                 to forget it",
            );
            if button.clicked() {
                learn.arm(if waiting { None } else { Some(action) });
            }
            if button.secondary_clicked() {
                learn.forget(action);
            }
        }
    });
}

#[cfg(test)]
mod tests;
