//! The editor's preset row: a menu of the factory presets and the musician's own, previous and
//! next, and "Save as…". GUI thread only; reads the presets folder at most every
//! [`RESCAN_EVERY`], and sets parameters through the host as one gesture per parameter.
//!
//! Guarantees: a preset is checked whole ([`crate::presets::resolve`]) before any parameter is
//! set, so a bad file changes nothing and says why under the row; loading goes through the host
//! like any parameter change, so a change of `Mode` releases Descant's sounding notes with their
//! note-offs, as a turn of the control would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use descant_inference::files::catalog;
use descant_inference::files::presets::{self, Origin, Preset, PresetError};
use descant_inference::worker::Pick;
use nice_plug::context::gui::GuiContext;

use crate::params::DescantParams;
use crate::presets::{capture, resolve};

/// How often the presets folder is read again while the editor is open.
const RESCAN_EVERY: Duration = Duration::from_secs(2);

/// The preset row's memory. GUI thread only.
#[derive(Default)]
pub struct PresetMenu {
    /// The presets listed (factory first), with a file's reason where it does not parse.
    listed: Vec<(Origin, Result<Preset, PresetError>)>,
    /// When `listed` was read.
    scanned: Option<Instant>,
    /// The preset loaded last, by its place in `listed` (for previous and next).
    current: Option<usize>,
    /// The name typed for "Save as…".
    save_name: String,
    /// What the last load or save did, to show under the row.
    message: Option<String>,
}

impl PresetMenu {
    /// Reads the presets again if the list is older than [`RESCAN_EVERY`].
    fn rescan(&mut self) {
        if self.scanned.is_some_and(|t| t.elapsed() < RESCAN_EVERY) {
            return;
        }
        let dir: Option<PathBuf> = presets::presets_dir();
        self.listed = presets::list(dir.as_deref());
        self.scanned = Some(Instant::now());
        self.current = self.current.filter(|&i| i < self.listed.len());
    }

    /// Loads preset `index` of the list through the host, or says why not. Returns the
    /// built-in model the preset plays, for the worker to switch to, if it names one.
    fn load(&mut self, index: usize, params: &DescantParams, gui: &GuiContext) -> Option<Pick> {
        let (origin, preset) = self.listed.get(index)?;
        let preset = match preset {
            Ok(p) => p,
            Err(e) => {
                self.message = Some(format!("Not loaded: {}: {e}", where_(origin)));
                return None;
            }
        };
        match resolve(preset, params) {
            Ok(values) => {
                for (ptr, v) in values {
                    // SAFETY: `ptr` comes from `params.param_map()` and points into the plugin's
                    // parameters, which live as long as the editor; GUI thread, as the host
                    // context requires.
                    unsafe {
                        gui.raw_begin_set_parameter(ptr);
                        gui.raw_set_parameter_normalized(ptr, v);
                        gui.raw_end_set_parameter(ptr);
                    }
                }
                self.current = Some(index);
                let (pick, plays) = model_pick(preset.model.as_deref());
                self.message = Some(format!(
                    "Loaded \"{}\". {}{plays}",
                    preset.name, preset.description
                ));
                pick
            }
            Err(e) => {
                self.message = Some(format!(
                    "Not loaded: \"{}\" ({}): {e}; nothing changed",
                    preset.name,
                    where_(origin)
                ));
                None
            }
        }
    }

    /// Saves the current values as a user preset called `save_name`.
    fn save(&mut self, params: &DescantParams) {
        let Some(dir) = presets::presets_dir() else {
            self.message = Some("Not saved: no home folder to keep presets in".to_owned());
            return;
        };
        let preset = capture(params, self.save_name.trim(), "");
        self.message = Some(match presets::save(&dir, &preset) {
            Ok(path) => {
                self.scanned = None;
                format!("Saved {}", path.display())
            }
            Err(e) => format!("Not saved: {e}"),
        });
    }

    /// Draws the row and does what it is asked. Returns the model a loaded preset plays, for the
    /// worker to switch to.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        params: &DescantParams,
        gui: Option<&GuiContext>,
    ) -> Option<Pick> {
        self.rescan();
        let mut load = None;
        ui.horizontal(|ui| {
            ui.label("Preset");
            let shown = self
                .current
                .and_then(|i| self.listed.get(i))
                .and_then(|(_, p)| p.as_ref().ok())
                .map_or_else(|| "Choose a preset…".to_owned(), |p| p.name.clone());
            egui::ComboBox::from_id_salt("preset")
                .selected_text(shown)
                .width(200.0)
                .show_ui(ui, |ui| {
                    let mut factory_done = false;
                    for (i, (origin, preset)) in self.listed.iter().enumerate() {
                        if matches!(origin, Origin::User(_)) && !factory_done {
                            ui.separator();
                            factory_done = true;
                        }
                        let response = match preset {
                            Ok(p) => ui
                                .selectable_label(self.current == Some(i), &p.name)
                                .on_hover_text(&p.description),
                            Err(e) => ui
                                .add_enabled(false, egui::Button::new(where_(origin)))
                                .on_disabled_hover_text(e.to_string()),
                        };
                        if response.clicked() {
                            load = Some(i);
                        }
                    }
                })
                .response
                .on_hover_text("Factory presets, then yours from ~/Descant/presets/");
            let n = self.listed.len();
            if n > 0 {
                if ui.button("<").on_hover_text("Previous preset").clicked() {
                    load = Some(self.current.map_or(n - 1, |i| (i + n - 1) % n));
                }
                if ui.button(">").on_hover_text("Next preset").clicked() {
                    load = Some(self.current.map_or(0, |i| (i + 1) % n));
                }
            }
            ui.add(
                egui::TextEdit::singleline(&mut self.save_name)
                    .hint_text("name")
                    .desired_width(120.0),
            );
            if ui
                .button("Save as…")
                .on_hover_text("Save the current settings as your own preset in ~/Descant/presets/")
                .clicked()
            {
                self.save(params);
            }
        });
        let mut pick = None;
        if let (Some(i), Some(gui)) = (load, gui) {
            pick = self.load(i, params, gui);
        }
        if let Some(m) = &self.message {
            ui.add(egui::Label::new(m.as_str()).wrap());
        }
        pick
    }
}

/// The pick for a preset's built-in model `id`, and what the load message adds about it: which
/// model plays and what may be done with what it plays.
fn model_pick(id: Option<&str>) -> (Option<Pick>, String) {
    let Some(model) = id.and_then(descant_inference::builtin_model) else {
        return (None, String::new());
    };
    let info = catalog::builtin(model);
    (
        Some(Pick::of_builtin(model.id)),
        format!(
            " It plays the built-in model {} ({}).",
            info.name,
            info.terms.says()
        ),
    )
}

/// Where a listed preset comes from, for a message.
fn where_(origin: &Origin) -> String {
    match origin {
        Origin::Factory => "factory preset".to_owned(),
        Origin::User(path) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_of_the_non_commercial_models_style_picks_it_and_says_its_terms() {
        let (pick, said) = model_pick(Some("descant"));
        assert_eq!(pick, Some(Pick::Builtin("descant".into())));
        assert!(said.contains("Non-commercial use only"), "{said}");
        assert_eq!(model_pick(Some("descant-open")).0, Some(Pick::Default));
        assert_eq!(model_pick(None), (None, String::new()));
    }
}
