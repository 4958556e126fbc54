//! `descant presets`: the factory presets and the musician's own, one per line; and the settings
//! a preset gives `descant render --preset`. Main thread; reads `~/Descant/presets/`.

use anyhow::Result;
use descant_inference::files::presets::{self, Origin};

/// Runs `descant presets`: one line per preset (name, where it comes from, what it is for); a
/// file that does not load is listed with its reason.
pub fn run() -> Result<()> {
    let dir = presets::presets_dir();
    for (origin, preset) in presets::list(dir.as_deref()) {
        let from = match &origin {
            Origin::Factory => "factory".to_owned(),
            Origin::User(path) => path.display().to_string(),
        };
        match preset {
            Ok(p) => println!("{:<22} {from}: {}", p.name, p.description),
            Err(e) => println!("{:<22} {from}: not loadable: {e}", "(broken)"),
        }
    }
    Ok(())
}

/// The `NAME=VALUE` settings of the preset called `name` (factory, else the user's), for
/// `descant render`; `Pass through` is left out, since a render writes only Descant's part, and
/// the built-in model it plays, if it names one, is `Model`.
pub fn settings(name: &str) -> Result<Vec<(String, String)>> {
    let dir = presets::presets_dir();
    let preset = presets::find(name, dir.as_deref())?;
    let model = preset
        .model
        .map(|id| (descant_host::render::MODEL_SETTING.to_owned(), id));
    Ok(preset
        .params
        .into_iter()
        .filter(|(n, _)| n != "Pass through")
        .chain(model)
        .collect())
}
