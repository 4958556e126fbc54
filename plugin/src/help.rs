//! The editor's tooltips, read from the README's parameter table: one source for what each
//! parameter does, so the editor and the documentation cannot drift apart. GUI thread (and
//! tests); parsed once, on first use.
//!
//! Guarantees: every parameter Descant has a row for in the README's table gets that row's text
//! (a row naming several parameters, "Style, Style B", gives it to each); a unit test holds every
//! parameter of [`DescantParams`](crate::params::DescantParams) to having one.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The README, compiled in (the table is read from it).
const README: &str = include_str!("../../README.md");
/// The header row that opens the parameter table.
const TABLE_HEADER: &str = "| parameter | range | what it does |";

/// A parameter's tooltip: what it does, then its range. `None` for a name the table lacks.
pub fn tooltip(name: &str) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse(README))
        .get(name)
        .map(String::as_str)
}

/// The rows of the table that follows [`TABLE_HEADER`] in `text`, by parameter name.
fn parse(text: &str) -> HashMap<String, String> {
    let mut rows = HashMap::new();
    let Some(at) = text.find(TABLE_HEADER) else {
        return rows;
    };
    // The header, the `|---|` rule, then rows until the table ends.
    for line in text[at..].lines().skip(2) {
        let Some(row) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
            break;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [names, range, what] = cells[..] else {
            continue;
        };
        let text = format!("{}\n\nRange: {range}", capitalised(what));
        for name in names.split(", ") {
            rows.insert(name.to_owned(), text.clone());
        }
    }
    rows
}

/// `s` with its first letter upper-case ("lower is safer" → "Lower is safer").
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::DescantParams;
    use nice_plug::prelude::Params;

    #[test]
    fn every_parameter_has_its_readme_row_as_a_tooltip() {
        let params = DescantParams::default();
        let mut missing = Vec::new();
        for (_, ptr, _) in params.param_map() {
            // SAFETY: `ptr` points into `params`, which outlives this loop (nice-plug's
            // `param_map` contract).
            let name = unsafe { ptr.name() };
            if tooltip(name).is_none() {
                missing.push(name.to_owned());
            }
        }
        assert!(missing.is_empty(), "no README row for {missing:?}");
    }

    #[test]
    fn a_row_naming_two_parameters_gives_each_its_text_and_range() {
        let table = parse(
            "x\n| parameter | range | what it does |\n|---|---|---|\n| A, B | 0–1 | does a thing |\n\
             | C | on/off | |\n\nnot a row | here |",
        );
        assert_eq!(table["A"], "Does a thing\n\nRange: 0–1");
        assert_eq!(table["B"], table["A"]);
        assert_eq!(
            table["C"], "\n\nRange: on/off",
            "an empty text is still a row"
        );
        assert_eq!(
            table.len(),
            3,
            "the table ends at its first non-row: {table:?}"
        );
    }
}
