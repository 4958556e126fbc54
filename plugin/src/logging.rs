//! Where Descant's log goes. The engine and the plugin write through the `log` facade; this
//! routes each record to stderr as one `descant: message` line, which a host's console or log
//! file shows. Called on the main and worker threads only: the audio thread never logs.
//!
//! Guarantees: [`install`] sets the logger at most once per process and never fails (when
//! another plugin in the host set a `log` logger first, Descant's records go there).

use std::sync::Once;

/// The logger: one stderr line per record, info and above.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("descant: {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Routes the `log` facade to stderr (once; later calls do nothing). Main thread.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&StderrLog).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    });
}
