//! Routing one incoming host event: what the worker is told, whether it silences Descant, and
//! how it may pass through. A pure function of the event and this block's settings, so every
//! rule is unit-tested without a host. Audio thread; never allocates.
//!
//! Guarantees: a note-off (or a note-on of velocity 0) never silences Descant and may always end a
//! key that was let through; notes on the chord channel are harmony (told to the worker, never
//! silencing); only in Answer mode does a player's note-on silence Descant.

use descant_inference::files::take::PlayMode;
use nice_plug::midi::Key;
use nice_plug::prelude::NoteEvent;

/// This block's routing settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteSettings {
    /// `Pass through`: the player's notes go out beside Descant's.
    pub pass_through: bool,
    /// `Chord channel`: 0 off, else the MIDI channel + 1 whose notes are chords to play over.
    pub chord_channel: i32,
    /// The mode playing now.
    pub mode: PlayMode,
    /// The channel Descant plays on (the player's latest), for events that name none.
    pub channel: u8,
}

/// What the worker hears of one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tell {
    /// Nothing.
    Nothing,
    /// A player key went down at `timing` (samples into the block).
    PlayerOn {
        /// MIDI key.
        key: u8,
        /// Velocity, 0..=1.
        velocity: f32,
        /// Sample offset in the block.
        timing: u32,
    },
    /// A player key was released at `timing`.
    PlayerOff {
        /// MIDI key.
        key: u8,
        /// Sample offset in the block.
        timing: u32,
    },
    /// A chord-channel key went down at `timing`.
    ChordOn {
        /// MIDI key.
        key: u8,
        /// Sample offset in the block.
        timing: u32,
    },
    /// A chord-channel key was released at `timing`.
    ChordOff {
        /// MIDI key.
        key: u8,
        /// Sample offset in the block.
        timing: u32,
    },
}

/// How an event may pass through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pass {
    /// It does not go out.
    No,
    /// A note-on that goes out if the block has room; its key is then held through.
    Start {
        /// The key pressed.
        key: u8,
        /// Its channel.
        channel: u8,
    },
    /// A note-off: it must go out when its key was let through (see `thru`), and may go out
    /// (if the block has room) when pass-through is on.
    End {
        /// The key released.
        key: u8,
        /// Its channel.
        channel: u8,
        /// Whether it goes out even when its key was not let through.
        pass_through: bool,
    },
    /// Anything else that passes: goes out if the block has room.
    Other,
}

/// One event's route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route {
    /// What the worker hears.
    pub tell: Tell,
    /// Whether it silences Descant (an answer yields to the player).
    pub silences: bool,
    /// The channel Descant plays on from now (a player's note-on moves it).
    pub channel: u8,
    /// How it passes through.
    pub pass: Pass,
}

/// The route of `event` under `s`.
pub fn route<S>(event: &NoteEvent<S>, s: RouteSettings) -> Route {
    let is_chord = |channel: Option<u8>| {
        s.chord_channel > 0 && channel.map(i32::from) == Some(s.chord_channel - 1)
    };
    let start = |key, channel| {
        if s.pass_through {
            Pass::Start { key, channel }
        } else {
            Pass::No
        }
    };
    let end = |key, channel| Pass::End {
        key,
        channel,
        pass_through: s.pass_through,
    };
    let quiet = |tell, pass| Route {
        tell,
        silences: false,
        channel: s.channel,
        pass,
    };
    match *event {
        NoteEvent::NoteOn {
            timing,
            channel,
            key: Key::Number(key),
            velocity,
            ..
        } if velocity > 0.0 && is_chord(channel.number()) => quiet(
            Tell::ChordOn { key, timing },
            start(key, channel.number().unwrap_or(0) & 15),
        ),
        NoteEvent::NoteOn {
            timing,
            channel,
            key: Key::Number(key),
            ..
        }
        | NoteEvent::NoteOff {
            timing,
            channel,
            key: Key::Number(key),
            ..
        } if is_chord(channel.number()) => quiet(
            Tell::ChordOff { key, timing },
            end(key, channel.number().unwrap_or(0) & 15),
        ),
        NoteEvent::NoteOn {
            timing,
            channel,
            key: Key::Number(key),
            velocity,
            ..
        } if velocity > 0.0 => {
            let channel = channel.number().unwrap_or(s.channel) & 15;
            Route {
                tell: Tell::PlayerOn {
                    key,
                    velocity,
                    timing,
                },
                // Only an answer yields to the player; Continue and Loop play along.
                silences: s.mode == PlayMode::Answer,
                channel,
                pass: start(key, channel),
            }
        }
        NoteEvent::NoteOn {
            timing,
            channel,
            key: Key::Number(key),
            ..
        }
        | NoteEvent::NoteOff {
            timing,
            channel,
            key: Key::Number(key),
            ..
        } => quiet(
            Tell::PlayerOff { key, timing },
            end(key, channel.number().unwrap_or(s.channel) & 15),
        ),
        _ if s.pass_through => quiet(Tell::Nothing, Pass::Other),
        _ => quiet(Tell::Nothing, Pass::No),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::midi::{Channel, VoiceID};

    fn on(channel: u8, key: u8, velocity: f32) -> NoteEvent<()> {
        NoteEvent::NoteOn {
            timing: 7,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key),
            velocity,
        }
    }

    fn off(channel: u8, key: u8) -> NoteEvent<()> {
        NoteEvent::NoteOff {
            timing: 9,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key),
            velocity: 0.0,
        }
    }

    fn settings(mode: PlayMode, pass_through: bool, chord_channel: i32) -> RouteSettings {
        RouteSettings {
            pass_through,
            chord_channel,
            mode,
            channel: 0,
        }
    }

    #[test]
    fn a_player_note_on_silences_an_answer_and_moves_descants_channel() {
        let r = route(&on(3, 60, 0.8), settings(PlayMode::Answer, true, 0));
        assert!(r.silences);
        assert_eq!(r.channel, 3);
        assert_eq!(
            r.tell,
            Tell::PlayerOn {
                key: 60,
                velocity: 0.8,
                timing: 7
            }
        );
        assert_eq!(
            r.pass,
            Pass::Start {
                key: 60,
                channel: 3
            }
        );
    }

    #[test]
    fn continue_and_loop_play_along_with_the_player() {
        for mode in [PlayMode::Continue, PlayMode::Loop] {
            let r = route(&on(0, 60, 0.8), settings(mode, true, 0));
            assert!(!r.silences, "{mode:?}");
            assert!(matches!(r.tell, Tell::PlayerOn { .. }));
        }
    }

    #[test]
    fn a_note_on_of_velocity_zero_is_a_release() {
        let r = route(&on(0, 60, 0.0), settings(PlayMode::Answer, false, 0));
        assert!(!r.silences);
        assert_eq!(r.tell, Tell::PlayerOff { key: 60, timing: 7 });
        assert_eq!(
            r.pass,
            Pass::End {
                key: 60,
                channel: 0,
                pass_through: false
            }
        );
    }

    #[test]
    fn chord_channel_notes_are_harmony_that_never_silences() {
        let s = settings(PlayMode::Answer, true, 2);
        let r = route(&on(1, 64, 0.9), s);
        assert!(matches!(r.tell, Tell::ChordOn { key: 64, .. }));
        assert!(!r.silences);
        assert_eq!(r.channel, 0, "a chord does not move Descant's channel");
        assert!(matches!(
            route(&off(1, 64), s).tell,
            Tell::ChordOff { key: 64, .. }
        ));
        // Another channel is the player.
        assert!(route(&on(0, 64, 0.9), s).silences);
    }

    #[test]
    fn without_pass_through_nothing_starts_but_a_release_may_still_end_a_held_key() {
        let s = settings(PlayMode::Answer, false, 0);
        assert_eq!(route(&on(0, 60, 0.8), s).pass, Pass::No);
        assert_eq!(
            route(&off(0, 60), s).pass,
            Pass::End {
                key: 60,
                channel: 0,
                pass_through: false
            }
        );
        let cc = NoteEvent::<()>::MidiCC {
            timing: 0,
            channel: 0,
            cc: 1,
            value: 0.5,
        };
        assert_eq!(route(&cc, s).pass, Pass::No);
        assert_eq!(
            route(&cc, settings(PlayMode::Answer, true, 0)).pass,
            Pass::Other
        );
    }
}
