//! The VST3 bundle in a real VST3 host, headless: Ardour 7 (Debian's `ardour` package) scans it
//! with `ardour-vst3-scanner`, then `ardour7-lua` (Ardour's headless Lua session) creates a session, instantiates Descant and
//! inserts it on a MIDI track. `cargo xtask test` puts the bundle in `target/test-plugin/`.

use std::path::{Path, PathBuf};
use std::process::Command;

const ARDOUR_LIB: &str = "/usr/lib/ardour7";

#[test]
fn the_vst3_bundle_instantiates_in_ardour() {
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin/Descant.vst3");
    assert!(
        bundle.is_dir(),
        "{} missing: run `cargo xtask test`",
        bundle.display()
    );
    assert!(
        Path::new(ARDOUR_LIB).join("ardour-vst3-scanner").is_file(),
        "Ardour 7 is not installed: `apt-get install ardour` (`.ci/run` does)"
    );
    let tmp = tempfile::Builder::new()
        .prefix("descant-ardour-")
        .tempdir()
        .unwrap();
    let work = tmp.path();
    let home = work.join("home");
    let installed = home.join(".vst3/Descant.vst3");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&bundle)
        .arg(&installed)
        .status()
        .unwrap();
    assert!(copied.success());

    // A first session start makes Ardour discover the bundle (it marks it as needing a scan); the
    // scanner then writes its cache, which the next session start reads.
    let discover = work.join("discover.lua");
    std::fs::write(&discover, "print(\"discovered\")\n").unwrap();
    let first = Command::new("ardour7-lua")
        .arg(&discover)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let scan = Command::new(Path::new(ARDOUR_LIB).join("ardour-vst3-scanner"))
        .arg("-v")
        .arg(&installed)
        .env("HOME", &home)
        .env("LD_LIBRARY_PATH", ARDOUR_LIB)
        .output()
        .unwrap();
    let scan_log = String::from_utf8_lossy(&scan.stdout) + String::from_utf8_lossy(&scan.stderr);
    assert!(scan.status.success(), "{scan_log}");
    assert!(scan_log.contains("Found Plugin: Descant"), "{scan_log}");
    assert!(
        scan_log.contains("n_midi_inputs=\"1\" n_midi_outputs=\"1\""),
        "{scan_log}"
    );

    let session = work.join("session");
    let script = work.join("instantiate.lua");
    std::fs::write(
        &script,
        format!(
            r#"
local s = create_session("{session}", "descant", 48000)
assert(s, "no session")
local plugin = ARDOUR.LuaAPI.new_plugin(Session, "Descant", ARDOUR.PluginType.VST3, "")
assert(not plugin:isnil(), "could not instantiate Descant")
local midi = ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1)
local tracks = Session:new_midi_track(midi, midi, true, ARDOUR.PluginInfo(), nil, nil, 1,
    "Descant test", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false)
assert(tracks:size() == 1, "no track")
for t in tracks:iter() do
  assert(t:to_route():add_processor_by_index(plugin, 0, nil, true) == 0, "insert failed")
end
Session:save_state("", false, false, false, false, false)
print("DESCANT_VST3_OK " .. plugin:name())
"#,
            session = session.display()
        ),
    )
    .unwrap();
    // Ardour's scan-cache handshake (discovery marks the bundle, the scanner's cache is read at
    // the next start) is timing-sensitive: seen failing about once in five runs here, with
    // "could not instantiate" and nothing else in the log. Rescan and retry, at most four times.
    let mut attempt = 0;
    let (run, log) = loop {
        attempt += 1;
        let _ = std::fs::remove_dir_all(&session);
        let run = Command::new("ardour7-lua")
            .arg(&script)
            .env("HOME", &home)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&run.stdout).into_owned()
            + &String::from_utf8_lossy(&run.stderr);
        if run.status.success() || attempt == 4 || !log.contains("could not instantiate") {
            break (run, log);
        }
        eprintln!("attempt {attempt}: Ardour did not find the scanned bundle; rescanning");
        let rescan = Command::new(Path::new(ARDOUR_LIB).join("ardour-vst3-scanner"))
            .arg(&installed)
            .env("HOME", &home)
            .env("LD_LIBRARY_PATH", ARDOUR_LIB)
            .status()
            .unwrap();
        assert!(rescan.success());
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert!(run.status.success(), "{log}");
    assert!(log.contains("DESCANT_VST3_OK Descant"), "{log}");
    let saved = std::fs::read_to_string(session.join("descant.ardour")).unwrap();
    assert!(
        saved.contains("Descant"),
        "the session does not hold the plugin"
    );
}
