//! The editor's model picker: the built-in models (`descant-open` first, the default; then the
//! non-commercial one), every model in the models folder (`~/Descant/models/`, where `descant
//! learn` writes) and "Load file…", each with its name, its terms ("You may use what it plays in
//! released music" or "Non-commercial use only"), styles and licence line. GUI thread only.
//!
//! Guarantees: the picker never loads a model itself. It hands the worker a [`Pick`]; the worker
//! checks the contract and the graph before it lets the playing model go, and a refusal keeps
//! the model playing and comes back as the notice shown here. Listing reads sidecars only, at
//! most once every [`RESCAN`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use descant_inference::files::catalog::{self, ModelInfo};
use descant_inference::worker::{ModelStatus, Pick, WorkerShared};

/// How often the open list looks at the models folder again.
const RESCAN: Duration = Duration::from_secs(2);

/// The picker's memory between frames. GUI thread only.
#[derive(Default)]
pub struct ModelPicker {
    /// The models folder's models and when they were read; `None` until the list first opens.
    listed: Option<(Instant, Vec<ModelInfo>)>,
    /// The playing model's description, for the file or built-in id it describes.
    playing: Option<(Playing, ModelInfo)>,
    /// "Load file…" is open: the path being typed.
    file_entry: Option<String>,
    /// A file picked here and not yet playing: once it plays, `Style` turns to its style "Yours"
    /// if it has one (a refusal forgets it).
    awaiting: Option<PathBuf>,
}

/// The `Style` value of a model's style "Yours" (the one `descant learn` adds), if it has one.
pub fn yours_style_value(info: &ModelInfo) -> Option<i32> {
    let slot = info.styles.iter().position(|s| s == "Yours")?;
    let value = crate::styles::value_of_slot(slot, &info.styles);
    (value < crate::styles::STYLE_NAMES.len() as i32).then_some(value)
}

/// Which model plays: its file, or the built-in model's id.
type Playing = (Option<PathBuf>, Option<&'static str>);

/// The text of a model in the list: its name, where it comes from and its terms.
fn entry_text(info: &ModelInfo) -> String {
    match &info.path {
        None => format!("Built-in: {} ({})", info.name, info.terms.says()),
        Some(_) => format!("{} ({})", info.name, info.terms.says()),
    }
}

/// A model's terms, styles and licence, for its tooltip and the line under the picker.
pub fn details(info: &ModelInfo) -> String {
    let styles = info.styles_text();
    let mut text = format!(
        "{}.\nStyles: {styles}. Licence: {}",
        info.terms.says(),
        info.licence
    );
    if let Some(path) = &info.path {
        text.push_str(&format!("\n{}", path.display()));
    }
    if let Some(problem) = &info.problem {
        text.push_str(&format!("\nCannot be picked: {problem}"));
    }
    text
}

impl ModelPicker {
    /// The playing model's description (read again when the playing model changes).
    fn playing(&mut self, playing: &Playing) -> &ModelInfo {
        let stale = self.playing.as_ref().is_none_or(|(p, _)| p != playing);
        if stale {
            let info = catalog::playing(playing.0.as_deref(), playing.1);
            self.playing = Some((playing.clone(), info));
        }
        &self.playing.as_ref().expect("set above").1
    }

    /// The models folder's models, read again when older than [`RESCAN`].
    fn listed(&mut self) -> &[ModelInfo] {
        let stale = self
            .listed
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= RESCAN);
        if stale {
            let models = catalog::models_dir().map_or_else(Vec::new, |d| catalog::scan(&d));
            self.listed = Some((Instant::now(), models));
        }
        &self.listed.as_ref().expect("set above").1
    }

    /// The Model list's entries: the built-in models, the models folder's, "Load file…".
    /// Returns the model clicked, if any.
    fn model_menu(&mut self, ui: &mut egui::Ui, loaded: bool, playing: &Playing) -> Option<Pick> {
        let mut pick = None;
        for builtin in catalog::builtins() {
            let is_playing = loaded && playing.0.is_none() && playing.1 == builtin.builtin;
            if ui
                .selectable_label(is_playing, entry_text(&builtin))
                .on_hover_text(details(&builtin))
                .clicked()
            {
                pick = builtin.builtin.map(Pick::of_builtin);
            }
        }
        let playing_path = playing.0.as_deref();
        let folder = catalog::models_dir();
        let models = self.listed().to_vec();
        if models.is_empty() {
            let text = folder.map_or_else(
                || "No models folder".to_owned(),
                |d| format!("No models in {} yet (descant learn)", d.display()),
            );
            ui.weak(text);
        }
        for info in &models {
            let is_playing = loaded && info.path.as_deref() == playing_path;
            let enabled = info.problem.is_none();
            let clicked = ui
                .add_enabled(
                    enabled,
                    egui::Button::selectable(is_playing, entry_text(info)),
                )
                .on_hover_text(details(info))
                .on_disabled_hover_text(details(info))
                .clicked();
            if clicked {
                pick = info.path.clone().map(Pick::File);
            }
        }
        ui.separator();
        if ui
            .selectable_label(false, "Load file…")
            .on_hover_text("Type the path of a model's .onnx file (its .json sidecar beside it)")
            .clicked()
        {
            self.file_entry.get_or_insert_with(String::new);
        }
        pick
    }

    /// The row where a model file's path is typed, while it is open: returns the file to load
    /// (on `Load` or Enter) and whether `Cancel` was pressed.
    fn file_row(&mut self, ui: &mut egui::Ui) -> (Option<Pick>, bool) {
        let mut pick = None;
        let mut cancel = false;
        if let Some(entry) = &mut self.file_entry {
            ui.horizontal(|ui| {
                ui.label("File");
                let field = ui.add(
                    egui::TextEdit::singleline(entry)
                        .hint_text("/path/to/model.onnx")
                        .desired_width(320.0),
                );
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Load").clicked() || entered) && !entry.trim().is_empty() {
                    pick = Some(Pick::File(PathBuf::from(entry.trim())));
                }
                cancel = ui.button("Cancel").clicked();
            });
        }
        (pick, cancel)
    }

    /// Draws the picker: the list, the playing model's styles and licence, the worker's notice.
    /// Returns the `Style` value to set when a model picked here has just started playing and
    /// has the style "Yours" (one click from `descant learn` to playing in its style).
    pub fn show(&mut self, ui: &mut egui::Ui, shared: &WorkerShared) -> Option<i32> {
        let status = shared.status.lock().clone();
        let (playing_path, playing_id) = match &status {
            ModelStatus::Ready { path, builtin, .. } => (path.clone(), *builtin),
            _ => (None, None),
        };
        let loaded = matches!(status, ModelStatus::Ready { .. });
        let which = (playing_path.clone(), playing_id);
        let playing = self.playing(&which).clone();
        let mut style = None;
        if loaded && self.awaiting.is_some() && self.awaiting == playing_path {
            self.awaiting = None;
            style = yours_style_value(&playing);
        }
        let mut pick = None;
        ui.horizontal(|ui| {
            ui.label("Model");
            let shown = if loaded {
                entry_text(&playing)
            } else {
                "none loaded".to_owned()
            };
            egui::ComboBox::from_id_salt("descant-model")
                .selected_text(shown)
                .width(260.0)
                .show_ui(ui, |ui| {
                    if let Some(p) = self.model_menu(ui, loaded, &which) {
                        pick = Some(p);
                    }
                });
        });
        let (typed, cancel) = self.file_row(ui);
        if typed.is_some() {
            pick = typed;
        }
        if cancel {
            pick = None;
            self.file_entry = None;
        }
        if let Some(pick) = pick {
            self.awaiting = match &pick {
                Pick::File(path) => {
                    self.file_entry = None;
                    Some(path.clone())
                }
                Pick::Default | Pick::Builtin(_) => None,
            };
            // The worker's notice is about the previous pick until it answers this one.
            *shared.notice.lock() = None;
            shared.request_pick(pick);
        }
        if loaded {
            ui.add(egui::Label::new(details(&playing)).wrap());
        }
        if let Some(notice) = shared.notice.lock().clone() {
            if notice.starts_with("Did not switch") {
                self.awaiting = None;
            }
            ui.add(
                egui::Label::new(
                    egui::RichText::new(notice).color(egui::Color32::from_rgb(230, 190, 90)),
                )
                .wrap(),
            );
        }
        style
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learned_models_own_style_is_found_and_others_have_none() {
        let mut info = catalog::builtin(descant_inference::NON_COMMERCIAL);
        assert_eq!(yours_style_value(&info), None);
        info.styles.push("Yours".into());
        assert_eq!(yours_style_value(&info), Some(6));
        // "Yours" is one choice, wherever a model keeps it (learned on `descant-open`: second).
        info.styles = vec!["Klezmer".into(), "Yours".into()];
        assert_eq!(yours_style_value(&info), Some(6));
        info.styles = vec!["Irish & Scottish".into(), "Yours".into()];
        assert_eq!(yours_style_value(&info), Some(6));
    }

    #[test]
    fn a_model_reads_with_its_terms_styles_licence_and_problem() {
        let [open, nc] = <[ModelInfo; 2]>::try_from(catalog::builtins()).unwrap();
        assert_eq!(
            entry_text(&open),
            format!(
                "Built-in: {} (You may use what it plays in released music)",
                open.name
            )
        );
        assert!(entry_text(&nc).ends_with("(Non-commercial use only)"));
        let text = details(&nc);
        assert!(text.starts_with("Non-commercial use only.\nStyles: European folk, Chinese folk"));
        assert!(text.contains("Licence: Non-commercial use only"));
        let broken = ModelInfo {
            path: Some(PathBuf::from("/m/x.onnx")),
            builtin: None,
            name: "x.onnx".into(),
            styles: Vec::new(),
            licence: catalog::NO_LICENCE.into(),
            terms: catalog::Terms::Unstated,
            problem: Some("no sidecar".into()),
        };
        assert_eq!(
            entry_text(&broken),
            "x.onnx (Terms not stated: ask whoever made it)"
        );
        assert_eq!(
            details(&broken),
            "Terms not stated: ask whoever made it.\nStyles: none. Licence: no licence stated\n\
             /m/x.onnx\nCannot be picked: no sidecar"
        );
    }
}
