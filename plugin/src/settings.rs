//! What the worker plays by: the parameters read as one typed [`WorkerSettings`], before each
//! note it plans. Called on the inference worker thread (it reads the parameters' atomics); never
//! on the audio thread; allocates nothing.
//!
//! Guarantees: every parameter that steers what Descant plays reaches the worker here, by name,
//! so a control can be followed from the editor to the note: `Temperature` is
//! `sampling.temperature`, `Mode` is `mode`, and so on.

use std::sync::Arc;

use descant_inference::decode::sampler::SamplingSettings;
use descant_inference::worker::{Hearing, SettingsSource, WorkerSettings};

use crate::params::{answer_length, DescantParams};

/// The plugin's parameters as the worker's settings source.
pub struct LiveSettings {
    /// The parameters (shared with the host, the GUI and the audio thread; read here).
    params: Arc<DescantParams>,
    /// Which ways of knowing the harmony ahead are on: read once from `DESCANT_HEARING` when the
    /// worker starts (a measurement switch), never per note.
    hearing: Hearing,
}

impl LiveSettings {
    /// The settings source over `params`, with `DESCANT_HEARING` read now. Main thread.
    pub fn new(params: Arc<DescantParams>) -> LiveSettings {
        let hearing = Hearing::from_env_value(std::env::var("DESCANT_HEARING").ok().as_deref());
        LiveSettings { params, hearing }
    }
}

impl SettingsSource for LiveSettings {
    fn read(&self) -> WorkerSettings {
        worker_settings(&self.params, self.hearing)
    }
}

/// The settings the parameters ask for now, with the `hearing` switches.
pub fn worker_settings(params: &DescantParams, hearing: Hearing) -> WorkerSettings {
    WorkerSettings {
        enabled: params.playing(),
        sampling: SamplingSettings {
            temperature: params.temperature.value(),
            top_p: params.top_p.value(),
        },
        answer_after_beats: f64::from(params.answer_after.value()),
        steering: params.steering(),
        seed: params.seed.value() as u64,
        mode: params.mode.value().into(),
        answer_length: answer_length(params.answer_bars.value()),
        ending: params.ending.value().into(),
        echo: params.echo.value(),
        loop_bars: params.loop_bars.value().max(1) as u32,
        phrase_bars: params.phrase_bars.value().max(0) as u32,
        keep: params.keep.value(),
        again: params.again.value(),
        answer_now: params.answer_now.value(),
        humanize: params.humanize.value(),
        hearing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use descant_inference::files::take::PlayMode;

    #[test]
    fn the_defaults_reach_the_worker_as_the_worker_defaults() {
        let params = DescantParams::default();
        let s = worker_settings(&params, Hearing::default());
        let d = WorkerSettings::default();
        assert_eq!(s.mode, PlayMode::Answer);
        assert_eq!(
            (s.answer_length, s.ending, s.phrase_bars, s.loop_bars),
            (d.answer_length, d.ending, d.phrase_bars, d.loop_bars)
        );
        assert_eq!(s.sampling.temperature, params.temperature.value());
        assert_eq!(s.hearing, Hearing::default());
    }
}
