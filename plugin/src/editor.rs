//! The editor: the piano roll, Descant's controls and the model's status. GUI thread only; reads
//! the worker's status and plan (`parking_lot` locks the audio thread never touches), drains the
//! roll feed, and sets parameters through the host.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use descant_inference::key::Key;
use descant_inference::worker::{ModelStatus, WorkerShared};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::SizeConstraints;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::chord_name;
use crate::help;
use crate::params::{style_text, DescantParams, ModeChoice, EDITOR_MAX, EDITOR_MIN, STYLE_NAMES};
use crate::picker::ModelPicker;
use crate::preset_menu::PresetMenu;
use crate::roll::RollReceiver;
use crate::takefile::{self, PlayedNote, TakeClock};

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

/// The README's text for a parameter (see [`help`]); empty for one the table lacks.
fn tip(param: &impl Param) -> &'static str {
    help::tooltip(param.name()).unwrap_or("")
}

/// A parameter's name as a row label, with its tooltip.
fn label(ui: &mut egui::Ui, param: &impl Param) {
    ui.add_sized([100.0, 18.0], egui::Label::new(param.name()))
        .on_hover_text(tip(param));
}

fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam) {
    let mut value = param.value();
    if ui
        .checkbox(&mut value, param.name())
        .on_hover_text(tip(param))
        .changed()
    {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

/// Sets `param` to the normalised value `v` as one gesture.
fn set_normalized(setter: &ParamSetter, param: &impl Param, v: f32) {
    setter.begin_set_parameter(param);
    setter.set_parameter_normalized(param, v);
    setter.end_set_parameter(param);
}

/// The normalised value of each of a stepped parameter's choices, in order.
fn choices_of(param: &impl Param) -> impl Iterator<Item = f32> {
    let steps = param.step_count().unwrap_or(1).max(1);
    (0..=steps).map(move |i| i as f32 / steps as f32)
}

/// Whether `v` is the choice `param` holds now.
fn is_current(param: &impl Param, v: f32) -> bool {
    let steps = param.step_count().unwrap_or(1).max(1) as f32;
    (param.unmodulated_normalized_value() - v).abs() * steps < 0.5
}

/// A stepped parameter as a drop-down of its choices' texts.
fn choice(ui: &mut egui::Ui, setter: &ParamSetter, param: &impl Param) {
    ui.horizontal(|ui| {
        label(ui, param);
        let current = param.normalized_value_to_string(param.unmodulated_normalized_value(), true);
        egui::ComboBox::from_id_salt(param.name())
            .selected_text(current)
            .width(200.0)
            .show_ui(ui, |ui| {
                for v in choices_of(param) {
                    let text = param.normalized_value_to_string(v, true);
                    if ui.selectable_label(is_current(param, v), text).clicked() {
                        set_normalized(setter, param, v);
                    }
                }
            })
            .response
            .on_hover_text(tip(param));
    });
}

/// A parameter of a few choices as a row of buttons, the current one lit (a segmented
/// control).
fn segmented(ui: &mut egui::Ui, setter: &ParamSetter, param: &impl Param) {
    ui.horizontal(|ui| {
        label(ui, param);
        for v in choices_of(param) {
            let text = param.normalized_value_to_string(v, true);
            if ui
                .selectable_label(is_current(param, v), text)
                .on_hover_text(tip(param))
                .clicked()
            {
                set_normalized(setter, param, v);
            }
        }
    });
}

/// A style as a list of the loaded model's styles ("Any" first).
fn style_choice(ui: &mut egui::Ui, setter: &ParamSetter, param: &IntParam, names: &[String]) {
    ui.horizontal(|ui| {
        label(ui, param);
        let value = param.value();
        egui::ComboBox::from_id_salt(param.name())
            .selected_text(style_text(value, names))
            .width(200.0)
            .show_ui(ui, |ui| {
                let choices =
                    std::iter::once(STYLE_NAMES[0].to_owned()).chain(names.iter().cloned());
                for (v, text) in choices.take(STYLE_NAMES.len()).enumerate() {
                    if ui.selectable_label(v as i32 == value, text).clicked() {
                        setter.begin_set_parameter(param);
                        setter.set_parameter(param, v as i32);
                        setter.end_set_parameter(param);
                    }
                }
            })
            .response
            .on_hover_text(tip(param));
    });
}

fn slider<P: Param>(ui: &mut egui::Ui, setter: &ParamSetter, param: &P) {
    ui.horizontal(|ui| {
        label(ui, param);
        ui.add(ParamSlider::for_param(param, setter).with_width(200.0))
            .on_hover_text(tip(param));
    });
}

/// A status line that wraps to the width it is given rather than running off the panel.
fn status(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) -> egui::Response {
    ui.add(egui::Label::new(text).wrap())
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
    /// Moves the audio thread's roll events into the history.
    fn drain_roll(&mut self, playhead: f64) {
        let mut rx = self.roll.lock();
        while let Ok(ev) = rx.pop() {
            if ev.on {
                if self.history.len() == ROLL_HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(RollNote {
                    note: PlayedNote {
                        key: ev.key,
                        start: ev.beat,
                        end: None,
                        velocity: ev.velocity,
                    },
                    descant: ev.descant,
                });
            } else if let Some(n) =
                self.history.iter_mut().rev().find(|n| {
                    n.note.key == ev.key && n.descant == ev.descant && n.note.end.is_none()
                })
            {
                n.note.end = Some(ev.beat.max(n.note.start));
            }
        }
        // After a seek back, forget the future that never happened.
        self.history.retain(|n| n.note.start <= playhead + 1.0);
    }

    /// The waterfall: the player's and Descant's recent notes, the plan ahead, bars and beats.
    fn draw_roll(&self, ui: &mut egui::Ui, height: f32) {
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), height),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ROLL_BACKGROUND);
        // The keyboard strip on the left; time runs in the rest.
        let keys_rect =
            egui::Rect::from_min_size(rect.min, egui::vec2(KEYBOARD_WIDTH, rect.height()));
        let rect = egui::Rect::from_min_max(
            egui::pos2(rect.left() + KEYBOARD_WIDTH, rect.top()),
            rect.max,
        );
        let block = self.shared.block.read();
        let playhead = block.playhead_beat;
        let t0 = playhead - ROLL_PAST_BEATS;
        let span = ROLL_PAST_BEATS + ROLL_FUTURE_BEATS;
        let x = |beat: f64| rect.left() + ((beat - t0) / span) as f32 * rect.width();
        let epoch = block.epoch;
        let planned: Vec<_> = self
            .shared
            .planned
            .lock()
            .iter()
            .filter(|n| n.epoch == epoch && n.onset_beat >= playhead)
            .copied()
            .collect();
        let visible = self
            .history
            .iter()
            .filter(|n| n.note.end.unwrap_or(playhead) >= t0);
        let (mut lo, mut hi) = (60u8, 72u8);
        for k in visible
            .clone()
            .map(|n| n.note.key)
            .chain(planned.iter().map(|n| n.key))
        {
            lo = lo.min(k);
            hi = hi.max(k);
        }
        let (lo, hi) = (lo.saturating_sub(2), hi.saturating_add(2).min(127));
        let key_h = rect.height() / f32::from(hi - lo + 1);
        let y = |key: u8| rect.bottom() - f32::from(key - lo + 1) * key_h;
        // Black keys as darker rows, then beat and bar lines.
        for key in lo..=hi {
            if matches!(key % 12, 1 | 3 | 6 | 8 | 10) {
                let row = egui::Rect::from_min_size(
                    egui::pos2(rect.left(), y(key)),
                    egui::vec2(rect.width(), key_h),
                );
                painter.rect_filled(row, 0.0, egui::Color32::from_rgb(17, 21, 30));
            }
        }
        self.draw_keyboard(&painter, keys_rect, (lo, hi), key_h, &y);
        let bar_beats = block.meter.bar_beats();
        let bar_start = block.bar_start_beat;
        let mut beat = t0.ceil();
        while beat <= t0 + span {
            let on_bar = ((beat - bar_start) / bar_beats).fract().abs() < 1e-6;
            // (Not at the right edge, where the number would be cut.)
            if on_bar && beat >= 0.0 && x(beat) + 16.0 < rect.right() {
                // Bar numbers from the host's bar 1 (a steady meter: bars tile from beat 0).
                painter.text(
                    egui::pos2(x(beat) + 3.0, rect.bottom() - 3.0),
                    egui::Align2::LEFT_BOTTOM,
                    format!("{}", (beat / bar_beats).round() as i64 + 1),
                    egui::FontId::proportional(11.0),
                    BAR_NUMBER_COLOR,
                );
            }
            let color = if on_bar {
                egui::Color32::from_gray(95)
            } else {
                egui::Color32::from_gray(45)
            };
            painter.line_segment(
                [
                    egui::pos2(x(beat), rect.top()),
                    egui::pos2(x(beat), rect.bottom()),
                ],
                egui::Stroke::new(1.0, color),
            );
            beat += 1.0;
        }
        let note_rect = |key: u8, start: f64, end: f64| {
            egui::Rect::from_min_max(
                egui::pos2(x(start), y(key) + 1.0),
                egui::pos2(x(end).max(x(start) + 2.0), y(key) + key_h - 1.0),
            )
        };
        for n in visible {
            let color = if n.descant {
                DESCANT_COLOR
            } else {
                PLAYER_COLOR
            };
            let r = note_rect(n.note.key, n.note.start, n.note.end.unwrap_or(playhead));
            painter.rect_filled(r, 2.0, color.gamma_multiply(0.5 + 0.5 * n.note.velocity));
        }
        for n in &planned {
            let r = note_rect(n.key, n.onset_beat, n.onset_beat + n.length_beats);
            painter.rect_stroke(
                r,
                2.0,
                egui::Stroke::new(1.5, DESCANT_COLOR),
                egui::StrokeKind::Inside,
            );
        }
        painter.line_segment(
            [
                egui::pos2(x(playhead), rect.top()),
                egui::pos2(x(playhead), rect.bottom()),
            ],
            egui::Stroke::new(2.0, egui::Color32::WHITE),
        );
        let mut at = rect.left_top() + egui::vec2(6.0, 4.0);
        for (label, color) in [
            ("you", PLAYER_COLOR),
            ("Descant played", DESCANT_COLOR),
            ("outlined: planned", egui::Color32::from_gray(170)),
        ] {
            let shown = painter.text(
                at,
                egui::Align2::LEFT_TOP,
                label,
                egui::FontId::proportional(11.0),
                color,
            );
            at.x = shown.right() + 12.0;
        }
        // The key in use and the chord the player sounds now, top right.
        let sounding: Vec<u8> = self
            .history
            .iter()
            .filter(|n| !n.descant && n.note.end.is_none())
            .map(|n| n.note.key)
            .collect();
        let chord = chord_name::chord(&sounding).unwrap_or_else(|| "–".to_owned());
        painter.text(
            rect.right_top() + egui::vec2(-6.0, 4.0),
            egui::Align2::RIGHT_TOP,
            format!("{}   Chord: {chord}", key_line(&self.shared)),
            egui::FontId::proportional(11.0),
            ROLL_LABEL_COLOR,
        );
    }

    /// The keyboard strip: white and black keys for the roll's rows, every C named, and every
    /// white key named when the rows are tall enough to read.
    fn draw_keyboard(
        &self,
        painter: &egui::Painter,
        rect: egui::Rect,
        (lo, hi): (u8, u8),
        key_h: f32,
        y: &impl Fn(u8) -> f32,
    ) {
        for key in lo..=hi {
            let black = matches!(key % 12, 1 | 3 | 6 | 8 | 10);
            let row = egui::Rect::from_min_size(
                egui::pos2(rect.left(), y(key)),
                egui::vec2(rect.width(), key_h),
            );
            let fill = if black {
                egui::Color32::from_gray(40)
            } else {
                WHITE_KEY_COLOR
            };
            painter.rect_filled(row.shrink2(egui::vec2(0.0, 0.5)), 0.0, fill);
            if !black && (key % 12 == 0 || key_h >= 11.0) {
                painter.text(
                    egui::pos2(row.right() - 3.0, row.center().y),
                    egui::Align2::RIGHT_CENTER,
                    chord_name::note_name(key),
                    egui::FontId::proportional((key_h - 1.0).clamp(7.0, 11.0)),
                    KEY_NAME_COLOR,
                );
            }
        }
    }

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
        let model = match &*self.shared.status.lock() {
            ModelStatus::Ready { name, .. } => name.clone(),
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
        let yours = self.picker.show(ui, &self.shared);
        self.presets.show(ui, &self.params, self.gui.as_ref());
        let roll_height = (ui.available_height() * 0.38).clamp(140.0, 600.0);
        self.draw_roll(ui, roll_height);
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
                let ui = &mut cols[0];
                ui.strong("Play");
                segmented(ui, &setter, &p.mode);
                match p.mode.value() {
                    ModeChoice::Answer => {
                        slider(ui, &setter, &p.answer_after);
                        choice(ui, &setter, &p.answer_bars);
                        slider(ui, &setter, &p.echo);
                        if let Some((scores, n)) = *self.shared.answer.lock() {
                            status(ui, format!("Last answer, best of {n}: {}", scores.line()))
                                .on_hover_text("The critic's scores of the answer Descant played");
                        }
                    }
                    ModeChoice::Continue => choice(ui, &setter, &p.phrase_bars),
                    ModeChoice::Loop => {
                        choice(ui, &setter, &p.loop_bars);
                        choice(ui, &setter, &p.phrase_bars);
                        ui.horizontal(|ui| {
                            toggle(ui, &setter, &p.keep);
                            if ui
                                .button("Regenerate")
                                .on_hover_text(tip(&p.regenerate))
                                .clicked()
                            {
                                let flipped = !p.regenerate.value();
                                setter.begin_set_parameter(&p.regenerate);
                                setter.set_parameter(&p.regenerate, flipped);
                                setter.end_set_parameter(&p.regenerate);
                            }
                        });
                        let kept = self.shared.telemetry.kept_take_beats.load();
                        if kept > 0.0 {
                            status(ui, format!("Keeping a take of {kept} beats"));
                        }
                    }
                }
                ui.horizontal(|ui| {
                    toggle(ui, &setter, &p.enabled);
                    toggle(ui, &setter, &p.pass_through);
                    toggle(ui, &setter, &p.free_run);
                });
                slider(ui, &setter, &p.humanize);
                slider(ui, &setter, &p.tempo);
                ui.add_space(8.0);
                ui.strong("Safety");
                ui.horizontal(|ui| {
                    toggle(ui, &setter, &p.originality_guard);
                    toggle(ui, &setter, &p.repetition_guard);
                });
                slider(ui, &setter, &p.seed);
                status(ui, originality_line(&self.shared));
                let ui = &mut cols[1];
                ui.strong("Steer");
                let styles = p.style_names.read().clone();
                style_choice(ui, &setter, &p.style, &styles);
                style_choice(ui, &setter, &p.style_b, &styles);
                slider(ui, &setter, &p.blend);
                slider(ui, &setter, &p.density);
                slider(ui, &setter, &p.register_low);
                slider(ui, &setter, &p.register_high);
                slider(ui, &setter, &p.mood);
                slider(ui, &setter, &p.temperature);
                slider(ui, &setter, &p.top_p);
                ui.add_space(8.0);
                ui.strong("Harmony");
                choice(ui, &setter, &p.key);
                slider(ui, &setter, &p.scale_lock);
                choice(ui, &setter, &p.chord_channel);
                choice(ui, &setter, &p.voice);
                if p.mode.value() == ModeChoice::Answer {
                    choice(ui, &setter, &p.ending);
                }
                status(ui, key_line(&self.shared));
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::EditorMemory;
    use descant_inference::critic::Scores;
    use nice_plug::prelude::{GuiContextInner, ParamPtr, PluginApi, PluginState};

    /// A host that takes every parameter change and does nothing with it.
    struct QuietHost;

    impl GuiContextInner for QuietHost {
        fn plugin_api(&self) -> PluginApi {
            PluginApi::Clap
        }
        unsafe fn raw_begin_set_parameter(&self, _: ParamPtr) {}
        unsafe fn raw_set_parameter_normalized(&self, _: ParamPtr, _: f32) {}
        unsafe fn raw_end_set_parameter(&self, _: ParamPtr) {}
        fn get_state(&self) -> PluginState {
            PluginState {
                version: String::new(),
                params: Default::default(),
                fields: Default::default(),
            }
        }
        fn set_state(&self, _: PluginState) {}
        fn request_restart(&self) {}
    }

    /// An editor in `mode` with every status line at its longest: a model error, the critic's
    /// scores, the originality guard's count.
    fn editor(mode: &str, status: ModelStatus) -> DescantEditor {
        let params = Arc::new(DescantParams::default());
        let (_, ptr, _) = params
            .param_map()
            .into_iter()
            .find(|(id, _, _)| id == "mode")
            .expect("mode");
        // SAFETY: `ptr` points into `params`, held by the editor; one thread.
        unsafe {
            let v = ptr.string_to_normalized_value(mode).expect("mode text");
            ptr._internal_set_normalized_value(v);
        }
        let shared = Arc::new(WorkerShared::default());
        *shared.status.lock() = status;
        *shared.answer.lock() = Some((Scores::default(), 8));
        let t = &shared.telemetry;
        t.originality_available.store(true, Ordering::Relaxed);
        t.originality_interventions.store(12, Ordering::Relaxed);
        t.late_notes.store(123_456, Ordering::Relaxed);
        let (_, roll) = crate::roll::RollFeed::new();
        DescantEditor {
            params,
            shared,
            roll,
            history: VecDeque::new(),
            saved: Some("Saved /home/someone/Descant/takes/descant-2026-12-02-23-59-59.mid".into()),
            gui: Some(GuiContext::new(Arc::new(QuietHost))),
            picker: ModelPicker::default(),
            presets: PresetMenu::default(),
            restore_size: None,
        }
    }

    /// Every text the editor draws in a window of `size`: its words, where it lies and the
    /// rectangle it is clipped to.
    fn texts(
        editor: &mut DescantEditor,
        size: egui::Vec2,
    ) -> Vec<(String, egui::Rect, egui::Rect)> {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
            ..Default::default()
        };
        // A few frames: egui sizes some widgets from the frame before.
        let mut output = None;
        for _ in 0..3 {
            let mut frame = ctx.run_ui(input.clone(), |ui| {
                egui::CentralPanel::default().show(ui, |ui| editor.draw(ui));
            });
            // No painter here: the font atlas is not uploaded anywhere.
            frame.textures_delta.clear();
            output = Some(frame);
        }
        fn walk(
            shape: &egui::Shape,
            clip: egui::Rect,
            out: &mut Vec<(String, egui::Rect, egui::Rect)>,
        ) {
            match shape {
                egui::Shape::Text(t) => {
                    out.push((t.galley.text().to_owned(), t.visual_bounding_rect(), clip))
                }
                egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, clip, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for c in &output.expect("a frame").shapes {
            walk(&c.shape, c.clip_rect, &mut out);
        }
        out
    }

    #[test]
    fn every_section_is_drawn_and_no_text_runs_off_the_window_at_the_default_size() {
        let reason = "cannot load the ONNX Runtime library /home/someone/.clap/libonnxruntime.so.1.31.1: \
                      No such file or directory; run `cargo xtask install` again or set DESCANT_ORT_LIB";
        let width = EditorMemory::default().width as f32;
        let height = EditorMemory::default().height as f32;
        for mode in ["Answer", "Continue", "Loop"] {
            let mut e = editor(mode, ModelStatus::Error(reason.into()));
            // Tall enough for every section to be in view (the sections scroll at the default height).
            let all: Vec<String> = texts(&mut e, egui::vec2(width, 2000.0))
                .into_iter()
                .map(|(t, _, _)| t)
                .collect();
            for section in ["Play", "Steer", "Harmony", "Safety", "Preset", "Model"] {
                assert!(
                    all.iter().any(|t| t == section),
                    "{mode}: no {section} in {all:?}"
                );
            }
            for (text, rect, clip) in texts(&mut e, egui::vec2(width, height)) {
                if text.trim().is_empty() {
                    continue; // an empty galley has no extent
                }
                assert!(
                    rect.right() <= clip.right() + 1.0 && rect.right() <= width + 1.0,
                    "{mode}: {text:?} runs off to x = {} (its panel ends at {}, the window at {width})",
                    rect.right(),
                    clip.right()
                );
            }
        }
    }

    #[test]
    fn tab_moves_the_keyboard_focus_through_the_controls() {
        let mut e = editor("Answer", ModelStatus::Loading);
        let ctx = egui::Context::default();
        let size = egui::vec2(800.0, 600.0);
        let mut focused = Vec::new();
        for frame in 0..6 {
            let tab = egui::Event::Key {
                key: egui::Key::Tab,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers: egui::Modifiers::NONE,
            };
            let input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
                events: if frame > 0 { vec![tab] } else { vec![] },
                ..Default::default()
            };
            let mut out = ctx.run_ui(input, |ui| {
                egui::CentralPanel::default().show(ui, |ui| e.draw(ui));
            });
            out.textures_delta.clear();
            focused.push(ctx.memory(|m| m.focused()));
        }
        assert_eq!(
            focused[0], None,
            "nothing has the focus before a key is pressed"
        );
        let stops: Vec<_> = focused[1..].iter().flatten().collect();
        assert_eq!(stops.len(), 5, "each Tab lands on a control: {focused:?}");
        let mut distinct = stops.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 5, "and each on the next one: {focused:?}");
    }

    /// The WCAG contrast ratio of two colours (1 to 21).
    fn contrast(a: egui::Color32, b: egui::Color32) -> f32 {
        let lum = |c: egui::Color32| {
            let ch = |v: u8| {
                let v = f32::from(v) / 255.0;
                if v <= 0.039_28 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * ch(c.r()) + 0.7152 * ch(c.g()) + 0.0722 * ch(c.b())
        };
        let (hi, lo) = (lum(a).max(lum(b)), lum(a).min(lum(b)));
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn text_reads_at_wcag_aa_contrast_on_the_panel_and_the_roll() {
        let v = egui::Visuals::dark();
        let text = contrast(v.text_color(), v.panel_fill);
        assert!(text >= 4.5, "controls' text {text:.1}:1");
        for (what, c) in [
            ("the player's notes", PLAYER_COLOR),
            ("Descant's notes", DESCANT_COLOR),
            ("bar numbers", BAR_NUMBER_COLOR),
            ("key and chord", ROLL_LABEL_COLOR),
        ] {
            let r = contrast(c, ROLL_BACKGROUND);
            assert!(r >= 4.5, "{what} on the roll {r:.1}:1");
        }
        let keys = contrast(KEY_NAME_COLOR, WHITE_KEY_COLOR);
        assert!(keys >= 4.5, "note names on the white keys {keys:.1}:1");
    }
}
