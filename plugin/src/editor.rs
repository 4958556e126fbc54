//! The editor: Descant's controls and the model's status. GUI thread only; reads the worker's
//! status (a `parking_lot` lock the audio thread never touches) and sets parameters through the
//! host.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use descant_inference::key::Key;
use descant_inference::worker::{ModelStatus, WorkerShared};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::params::DescantParams;

/// The egui app behind the editor window.
pub struct DescantEditor {
    /// Parameters, to show and set. Shared with the plugin.
    params: Arc<DescantParams>,
    /// Worker status and counters, to show. Shared with the plugin and the worker.
    shared: Arc<WorkerShared>,
    /// The host context for setting parameters; given when the window opens.
    gui: Option<GuiContext>,
}

/// Builds the editor (called by the host wrapper on the main thread).
pub fn create(
    params: Arc<DescantParams>,
    shared: Arc<WorkerShared>,
) -> Option<EguiEditor<DescantEditor>> {
    create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("Descant"),
        DescantEditor {
            params,
            shared,
            gui: None,
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
        } => format!("Model: {name} (untrained placeholder: random notes), loaded in {load_ms} ms"),
        ModelStatus::Ready { name, load_ms, .. } => {
            format!("Model: {name}, ready (loaded in {load_ms} ms)")
        }
        ModelStatus::Error(reason) => {
            format!("Model error — Descant passes MIDI through only.\n{reason}")
        }
    }
}

fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam) {
    let mut value = param.value();
    if ui.checkbox(&mut value, param.name()).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

fn slider<P: Param>(ui: &mut egui::Ui, setter: &ParamSetter, param: &P) {
    ui.horizontal(|ui| {
        ui.add_sized([100.0, 18.0], egui::Label::new(param.name()));
        ui.add(ParamSlider::for_param(param, setter).with_width(200.0));
    });
}

/// What the originality guard has done.
fn originality_line(shared: &WorkerShared) -> String {
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
    match shared.key_in_use.load(Ordering::Relaxed) {
        0 => "Key in use: none yet (Auto listens to the player)".to_owned(),
        k => format!("Key in use: {}", Key::from_index(k as usize - 1).name()),
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
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().request_repaint_after(Duration::from_millis(200));
        ui.heading("Descant");
        let status = self.shared.status.lock().clone();
        let color = match status {
            ModelStatus::Error(_) => egui::Color32::from_rgb(230, 110, 90),
            ModelStatus::Ready { trained: false, .. } => egui::Color32::from_rgb(230, 190, 90),
            _ => ui.visuals().text_color(),
        };
        ui.colored_label(color, status_line(&status));
        ui.separator();
        if let Some(gui) = &self.gui {
            let setter = gui.param_setter();
            let p = &self.params;
            ui.columns(2, |cols| {
                let ui = &mut cols[0];
                ui.strong("Play");
                toggle(ui, &setter, &p.enabled);
                slider(ui, &setter, &p.temperature);
                slider(ui, &setter, &p.top_p);
                slider(ui, &setter, &p.answer_after);
                slider(ui, &setter, &p.seed);
                toggle(ui, &setter, &p.repetition_guard);
                toggle(ui, &setter, &p.originality_guard);
                toggle(ui, &setter, &p.pass_through);
                toggle(ui, &setter, &p.free_run);
                slider(ui, &setter, &p.tempo);
                let ui = &mut cols[1];
                ui.strong("Steer");
                slider(ui, &setter, &p.style);
                slider(ui, &setter, &p.style_b);
                slider(ui, &setter, &p.blend);
                slider(ui, &setter, &p.density);
                slider(ui, &setter, &p.register_low);
                slider(ui, &setter, &p.register_high);
                slider(ui, &setter, &p.mood);
                slider(ui, &setter, &p.key);
                slider(ui, &setter, &p.scale_lock);
                slider(ui, &setter, &p.chord_channel);
            });
        }
        ui.label(key_line(&self.shared));
        ui.label(originality_line(&self.shared));
        ui.separator();
        ui.label(format!(
            "Notes planned: {}   late (dropped): {}   queue full (dropped): {}   per-token: {} µs",
            self.shared.generated_notes.load(Ordering::Relaxed),
            self.shared.late_notes.load(Ordering::Relaxed),
            self.shared.queue_full_drops.load(Ordering::Relaxed),
            self.shared.step_micros.load(Ordering::Relaxed),
        ));
    }
}
