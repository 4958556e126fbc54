//! The `Style` and `Style B` parameters' text: "Any", then the loaded model's own style names
//! (written by the worker when a model loads), so hosts and the editor show the styles the model
//! declares. Called on the main and GUI threads (parameter text); never on the audio thread.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::RwLock;

/// The shipped model's style ids in its control order (its sidecar's `control.styles`, written by
/// `training/extract.py`); a unit test holds them to the sidecar.
pub const STYLE_IDS: [&str; 5] = [
    "folk-european",
    "folk-chinese",
    "irish-scottish",
    "chorale",
    "renaissance",
];

/// Style choices in parameter order: "Any" (unconditioned), then a name for each of
/// [`STYLE_IDS`], in that order, then "Yours": the style a model learned from the musician's own
/// melodies adds after its base model's (`training/learn.py`; a model without it plays that
/// choice unconditioned, as "Any").
///
/// A value names a style, not a slot: each model says which of these it has, wherever they lie in
/// its control vector ([`slot_of_value`]). So `Irish & Scottish` is the same choice on the
/// non-commercial model (five styles), on `descant-open` (that style alone) and in a preset.
pub const STYLE_NAMES: [&str; 2 + STYLE_IDS.len()] = [
    "Any",
    "European folk",
    "Chinese folk",
    "Irish & Scottish",
    "Chorale",
    "Renaissance",
    "Yours",
];

/// The `Style` value of the loaded model's style in `slot`: the value of its name among
/// [`STYLE_NAMES`], and for a style of another name (a model of other styles), its slot + 1.
pub fn value_of_slot(slot: usize, loaded: &[String]) -> i32 {
    let name = loaded.get(slot).map(String::as_str);
    STYLE_NAMES
        .iter()
        .skip(1)
        .position(|&n| Some(n) == name)
        .map_or(slot as i32 + 1, |i| i as i32 + 1)
}

/// The loaded model's slot that `Style` value `value` plays: the slot whose [`value_of_slot`] is
/// `value`; `None` for "Any" and for a style the model does not have (it plays unconditioned).
pub fn slot_of_value(value: i32, loaded: &[String]) -> Option<usize> {
    (value > 0)
        .then(|| (0..loaded.len()).find(|&slot| value_of_slot(slot, loaded) == value))
        .flatten()
}

/// The text of a `Style` value: "Any", the loaded model's name for it, or, for a style the model
/// does not have, the built-in name marked as unconditioned.
pub fn style_text(value: i32, loaded: &[String]) -> String {
    if value == 0 {
        return STYLE_NAMES[0].to_owned();
    }
    match slot_of_value(value, loaded) {
        Some(slot) => loaded[slot].clone(),
        None => format!(
            "{} (not in this model: Any)",
            usize::try_from(value)
                .ok()
                .and_then(|v| STYLE_NAMES.get(v))
                .copied()
                .unwrap_or("?")
        ),
    }
}

/// The `Style` value a text names: "Any", the loaded model's style names, the built-in names or a
/// number (case-insensitive).
fn style_value(text: &str, loaded: &[String]) -> Option<i32> {
    let s = text.trim();
    let s = s.split(" (not in this model").next().unwrap_or(s);
    if s.eq_ignore_ascii_case(STYLE_NAMES[0]) {
        return Some(0);
    }
    loaded
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|slot| value_of_slot(slot, loaded))
        .or_else(|| {
            STYLE_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(s))
                .map(|i| i as i32)
        })
        .or_else(|| s.parse().ok())
}

/// A `Style` parameter whose text follows the loaded model's styles.
pub(crate) fn style_param(name: &str, names: &Arc<RwLock<Vec<String>>>) -> IntParam {
    let (show, read) = (names.clone(), names.clone());
    IntParam::new(
        name,
        0,
        IntRange::Linear {
            min: 0,
            max: STYLE_NAMES.len() as i32 - 1,
        },
    )
    .with_value_to_string(Arc::new(move |v| style_text(v, &show.read())))
    .with_string_to_value(Arc::new(move |s| style_value(s, &read.read())))
}
