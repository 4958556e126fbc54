use super::*;
use crate::params::EditorMemory;
use descant_inference::music::critic::Scores;
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
fn texts(editor: &mut DescantEditor, size: egui::Vec2) -> Vec<(String, egui::Rect, egui::Rect)> {
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

#[test]
fn a_click_on_a_planned_note_vetoes_it_and_the_editor_says_what_became_of_it() {
    use descant_inference::events::GeneratedNote;
    use descant_inference::worker::{Veto, VetoOutcome};
    let mut e = editor("Continue", ModelStatus::Loading);
    e.shared.planned.lock().push_back(GeneratedNote {
        key: 64,
        velocity: 0.8,
        onset_beat: 2.0,
        length_beats: 1.0,
        epoch: 0,
        alternates: Default::default(),
    });
    let size = egui::vec2(
        EditorMemory::default().width as f32,
        EditorMemory::default().height as f32,
    );
    // The roll's time area is the clip rectangle of its legend.
    let (_, _, roll) = texts(&mut e, size)
        .into_iter()
        .find(|(t, _, _)| t == "you")
        .expect("the roll's legend");
    let (lo, hi) = roll_view::key_range(std::iter::once(64));
    let key_h = roll.height() / f32::from(hi - lo + 1);
    let y = roll.bottom() - f32::from(64 - lo) * key_h - key_h / 2.0;
    let x = roll.left()
        + ((2.5 + ROLL_PAST_BEATS) / (ROLL_PAST_BEATS + ROLL_FUTURE_BEATS)) as f32 * roll.width();
    let at = egui::pos2(x, y);
    let ctx = egui::Context::default();
    let press = |pressed| egui::Event::PointerButton {
        pos: at,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    for events in [
        vec![],
        vec![egui::Event::PointerMoved(at)],
        vec![press(true)],
        vec![press(false)],
    ] {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
            events,
            ..Default::default()
        };
        let mut out = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| e.draw(ui));
        });
        out.textures_delta.clear();
    }
    let veto = Veto { key: 64, beat: 2.0 };
    assert_eq!(
        e.shared.take_vetoes(),
        [veto],
        "clicked at {at:?} in {roll:?}"
    );
    // The worker's answer, in words under the roll.
    e.shared
        .vetoed
        .lock()
        .push_back(VetoOutcome::Replaced(veto, 62));
    let all: Vec<String> = texts(&mut e, size).into_iter().map(|(t, _, _)| t).collect();
    assert!(
        all.iter()
            .any(|t| t.starts_with("Vetoed E4 at beat 2.00") && t.contains("D4 plays instead")),
        "{all:?}"
    );
}
