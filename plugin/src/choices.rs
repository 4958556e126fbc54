//! The choice parameters' values (`Mode`, `Voice`, `Ending`, and `Answer length`'s special
//! values) and how the engine reads them. Plain `Copy` enums and functions: read wherever a
//! parameter is read (audio thread, worker settings closure, GUI); nothing here allocates.

use descant_inference::decode::steering::Voice;
use descant_inference::files::take::PlayMode;
use descant_inference::music::critic::Ending;
use descant_inference::worker::AnswerLength;
use nice_plug::prelude::*;

/// How Descant plays with the track (the `Mode` parameter); see [`PlayMode`].
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChoice {
    /// Call and response.
    #[id = "answer"]
    Answer,
    /// One continuous line with the track.
    #[id = "continue"]
    Continue,
    /// A phrase per loop cycle, with Keep and Again.
    #[id = "loop"]
    Loop,
}

/// Where Descant's line lies relative to what it hears (the `Voice` parameter); see [`Voice`].
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceChoice {
    /// The model chooses; the voices may cross.
    #[id = "either"]
    Either,
    /// Above what it hears: a descant.
    #[id = "above"]
    Above,
    /// Below what it hears.
    #[id = "below"]
    Below,
}

/// How an answer ends (the `Ending` parameter); see [`Ending`].
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndingChoice {
    /// On the tonic, on a strong beat of the last bar.
    #[id = "home"]
    Home,
    /// On the dominant: a half cadence, a question.
    #[id = "open"]
    Open,
    /// Anywhere.
    #[id = "free"]
    Free,
}

impl From<EndingChoice> for Ending {
    fn from(e: EndingChoice) -> Ending {
        match e {
            EndingChoice::Home => Ending::Home,
            EndingChoice::Open => Ending::Open,
            EndingChoice::Free => Ending::Free,
        }
    }
}

/// `Answer length`'s value for "Match the call" (0 is "Until you play", 1.. a number of bars).
pub const MATCH_THE_CALL: i32 = -1;

/// The worker's reading of an `Answer length` value.
pub fn answer_length(value: i32) -> AnswerLength {
    match value {
        v if v < 0 => AnswerLength::MatchTheCall,
        0 => AnswerLength::UntilYouPlay,
        v => AnswerLength::Bars(v as u32),
    }
}

impl From<VoiceChoice> for Voice {
    fn from(v: VoiceChoice) -> Voice {
        match v {
            VoiceChoice::Either => Voice::Either,
            VoiceChoice::Above => Voice::Above,
            VoiceChoice::Below => Voice::Below,
        }
    }
}

impl From<ModeChoice> for PlayMode {
    fn from(m: ModeChoice) -> PlayMode {
        match m {
            ModeChoice::Answer => PlayMode::Answer,
            ModeChoice::Continue => PlayMode::Continue,
            ModeChoice::Loop => PlayMode::Loop,
        }
    }
}
