//! The editor's widgets for parameters: choices as drop-downs or buttons, sliders, toggles, each
//! with its README tooltip, and status lines that wrap. GUI thread only; each change is one host
//! gesture (begin, set, end).

use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

use crate::help;
use crate::styles::{style_text, value_of_slot, STYLE_NAMES};

/// The README's text for a parameter (see [`help`]); empty for one the table lacks.
pub(crate) fn tip(param: &impl Param) -> &'static str {
    help::tooltip(param.name()).unwrap_or("")
}

/// A parameter's name as a row label, with its tooltip.
pub(crate) fn label(ui: &mut egui::Ui, param: &impl Param) {
    ui.add_sized([100.0, 18.0], egui::Label::new(param.name()))
        .on_hover_text(tip(param));
}

pub(crate) fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam) {
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

/// A button that presses an action switch: each click flips `param` as one gesture (the worker
/// reads every change as one press; see `Again`, `Keep` outside Loop mode, `Answer now`).
pub(crate) fn press(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam) {
    if ui.button(param.name()).on_hover_text(tip(param)).clicked() {
        let flipped = !param.value();
        setter.begin_set_parameter(param);
        setter.set_parameter(param, flipped);
        setter.end_set_parameter(param);
    }
}

/// Sets `param` to the normalised value `v` as one gesture.
pub(crate) fn set_normalized(setter: &ParamSetter, param: &impl Param, v: f32) {
    setter.begin_set_parameter(param);
    setter.set_parameter_normalized(param, v);
    setter.end_set_parameter(param);
}

/// The normalised value of each of a stepped parameter's choices, in order.
pub(crate) fn choices_of(param: &impl Param) -> impl Iterator<Item = f32> {
    let steps = param.step_count().unwrap_or(1).max(1);
    (0..=steps).map(move |i| i as f32 / steps as f32)
}

/// Whether `v` is the choice `param` holds now.
pub(crate) fn is_current(param: &impl Param, v: f32) -> bool {
    let steps = param.step_count().unwrap_or(1).max(1) as f32;
    (param.unmodulated_normalized_value() - v).abs() * steps < 0.5
}

/// A stepped parameter as a drop-down of its choices' texts.
pub(crate) fn choice(ui: &mut egui::Ui, setter: &ParamSetter, param: &impl Param) {
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
pub(crate) fn segmented(ui: &mut egui::Ui, setter: &ParamSetter, param: &impl Param) {
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
pub(crate) fn style_choice(
    ui: &mut egui::Ui,
    setter: &ParamSetter,
    param: &IntParam,
    names: &[String],
) {
    ui.horizontal(|ui| {
        label(ui, param);
        let value = param.value();
        egui::ComboBox::from_id_salt(param.name())
            .selected_text(style_text(value, names))
            .width(200.0)
            .show_ui(ui, |ui| {
                let max = STYLE_NAMES.len() as i32 - 1;
                let choices = std::iter::once((0, STYLE_NAMES[0].to_owned())).chain(
                    (0..names.len()).map(|slot| (value_of_slot(slot, names), names[slot].clone())),
                );
                for (v, text) in choices.filter(|&(v, _)| v <= max) {
                    if ui.selectable_label(v == value, text).clicked() {
                        setter.begin_set_parameter(param);
                        setter.set_parameter(param, v);
                        setter.end_set_parameter(param);
                    }
                }
            })
            .response
            .on_hover_text(tip(param));
    });
}

pub(crate) fn slider<P: Param>(ui: &mut egui::Ui, setter: &ParamSetter, param: &P) {
    ui.horizontal(|ui| {
        label(ui, param);
        ui.add(ParamSlider::for_param(param, setter).with_width(200.0))
            .on_hover_text(tip(param));
    });
}

/// A status line that wraps to the width it is given rather than running off the panel.
pub(crate) fn status(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) -> egui::Response {
    ui.add(egui::Label::new(text).wrap())
}
