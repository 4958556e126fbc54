//! MIDI learn for the actions (`Again`, `Keep`, `Answer now`): a key or a controller of the
//! musician's (a footswitch, a pad) bound to an action. The GUI arms an action and forgets a
//! binding; the audio thread binds the next key or controller it hears to the armed action and,
//! after that, turns each press of a bound control into the action, for the worker; the main
//! thread persists the bindings with the project.
//!
//! Guarantees:
//! - **Wait-free on the audio thread.** [`MidiLearn::hear`] reads and writes atomics only; it
//!   never allocates, locks or blocks.
//! - **A bound control is the action's alone.** Its events are consumed: they neither pass
//!   through nor reach the worker as the player's notes, so a footswitch on a key never sounds,
//!   and a control is bound to one action at most (binding it anew unbinds it elsewhere).
//! - **One press, one action.** A key's note-on is a press (its note-off is consumed); a
//!   controller presses when it rises to 64 or more from below, so a momentary switch's 127 then 0
//!   is one press.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use descant_inference::events::Action;
use nice_plug::midi::Key;
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::NoteEvent;
use serde::{Deserialize, Serialize};

/// The learnable actions, in the bindings' order.
pub const ACTIONS: [Action; 3] = [Action::Again, Action::Keep, Action::AnswerNow];

/// Which kind of control a binding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    /// A key (note-on presses).
    Note,
    /// A controller (rising to 64 or more presses).
    Cc,
}

/// One control bound to an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// A key or a controller.
    pub control: Control,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// The key or controller number, 0..=127.
    pub number: u8,
}

impl Binding {
    /// The packed form in an atomic: 0 is none.
    fn pack(self) -> u32 {
        let kind = match self.control {
            Control::Note => 1,
            Control::Cc => 2,
        };
        (kind << 16) | (u32::from(self.channel & 15) << 8) | u32::from(self.number & 127)
    }

    fn unpack(bits: u32) -> Option<Binding> {
        let control = match bits >> 16 {
            1 => Control::Note,
            2 => Control::Cc,
            _ => return None,
        };
        Some(Binding {
            control,
            channel: ((bits >> 8) & 15) as u8,
            number: (bits & 127) as u8,
        })
    }

    /// How the editor names it: "CC 64, channel 1" or "C2, channel 10".
    pub fn text(&self) -> String {
        match self.control {
            Control::Cc => format!("CC {}, channel {}", self.number, self.channel + 1),
            Control::Note => format!(
                "{}, channel {}",
                crate::chord_name::note_name(self.number),
                self.channel + 1
            ),
        }
    }
}

/// The bindings as a project saves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnMap {
    /// `Again`'s control.
    pub again: Option<Binding>,
    /// `Keep`'s control.
    pub keep: Option<Binding>,
    /// `Answer now`'s control.
    pub answer_now: Option<Binding>,
}

/// What one incoming event is to MIDI learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// Not a bound control: it goes on as the player's.
    NotMine,
    /// A bound control's event that presses nothing (a release, a controller held or let go), or
    /// the event just learned.
    Consumed,
    /// A press of the action's control.
    Press(Action),
}

/// The bindings and the armed action, shared by the GUI, the audio thread and the persisted
/// state.
#[derive(Debug, Default)]
pub struct MidiLearn {
    /// The action waiting for its control: 0 none, else its index in [`ACTIONS`] + 1. Written by
    /// the GUI (arm, disarm) and the audio thread (learned); read by both.
    armed: AtomicU8,
    /// Each action's binding, packed ([`Binding::pack`]; 0 none). Written by the audio thread
    /// (learning), the GUI (forgetting) and the main thread (a project loading); read by the
    /// audio thread for every event.
    bindings: [AtomicU32; 3],
    /// Whether each action's controller was last seen at 64 or more (a rise presses). Audio
    /// thread only; an atomic so the struct can be shared.
    cc_high: [AtomicBool; 3],
}

fn index(action: Action) -> usize {
    ACTIONS.iter().position(|&a| a == action).unwrap_or(0)
}

impl MidiLearn {
    /// GUI: the next key or controller heard is bound to `action` (`None`: stop waiting).
    pub fn arm(&self, action: Option<Action>) {
        let armed = action.map_or(0, |a| index(a) as u8 + 1);
        self.armed.store(armed, Ordering::Release);
    }

    /// The action waiting for its control, if any.
    pub fn armed(&self) -> Option<Action> {
        match self.armed.load(Ordering::Acquire) {
            0 => None,
            i => ACTIONS.get(usize::from(i) - 1).copied(),
        }
    }

    /// `action`'s control, if it has one.
    pub fn binding(&self, action: Action) -> Option<Binding> {
        Binding::unpack(self.bindings[index(action)].load(Ordering::Acquire))
    }

    /// GUI: `action` has no control any more.
    pub fn forget(&self, action: Action) {
        self.bindings[index(action)].store(0, Ordering::Release);
    }

    /// Binds `binding` to `action`, unbinding it from any other action.
    fn bind(&self, action: Action, binding: Binding) {
        let bits = binding.pack();
        for b in &self.bindings {
            let _ = b.compare_exchange(bits, 0, Ordering::AcqRel, Ordering::Acquire);
        }
        self.bindings[index(action)].store(bits, Ordering::Release);
    }

    /// Audio thread: what `event` is to MIDI learn (see the module's guarantees). Wait-free.
    pub fn hear<S>(&self, event: &NoteEvent<S>) -> Learned {
        let (control, channel, number, value) = match *event {
            NoteEvent::NoteOn {
                channel,
                key: Key::Number(key),
                velocity,
                ..
            } => (Control::Note, channel.number(), key, velocity),
            NoteEvent::NoteOff {
                channel,
                key: Key::Number(key),
                ..
            } => (Control::Note, channel.number(), key, 0.0),
            NoteEvent::MidiCC {
                channel, cc, value, ..
            } => (Control::Cc, Some(channel), cc, value),
            _ => return Learned::NotMine,
        };
        let channel = channel.unwrap_or(0) & 15;
        let heard = Binding {
            control,
            channel,
            number: number & 127,
        };
        if let Some(action) = self.armed() {
            // A key is learned from its note-on (its note-off then finds it bound).
            if value > 0.0 || control == Control::Cc {
                self.bind(action, heard);
                self.armed.store(0, Ordering::Release);
                let high = control == Control::Cc && value >= 0.5;
                self.cc_high[index(action)].store(high, Ordering::Relaxed);
                return Learned::Consumed;
            }
        }
        let bits = heard.pack();
        let Some(i) = self
            .bindings
            .iter()
            .position(|b| b.load(Ordering::Acquire) == bits)
        else {
            return Learned::NotMine;
        };
        let pressed = match control {
            Control::Note => value > 0.0,
            Control::Cc => {
                let high = value >= 0.5;
                !self.cc_high[i].swap(high, Ordering::Relaxed) && high
            }
        };
        if pressed {
            Learned::Press(ACTIONS[i])
        } else {
            Learned::Consumed
        }
    }

    /// The bindings as a project saves them.
    pub fn map(&self) -> LearnMap {
        LearnMap {
            again: self.binding(Action::Again),
            keep: self.binding(Action::Keep),
            answer_now: self.binding(Action::AnswerNow),
        }
    }

    /// Takes a project's bindings.
    pub fn set_map(&self, map: LearnMap) {
        for (action, binding) in ACTIONS
            .into_iter()
            .zip([map.again, map.keep, map.answer_now])
        {
            let bits = binding.map_or(0, Binding::pack);
            self.bindings[index(action)].store(bits, Ordering::Release);
        }
    }
}

/// The project's `midi-learn` field: the bindings read from and written to the atomics.
impl<'a> PersistentField<'a, LearnMap> for Arc<MidiLearn> {
    fn set(&self, new_value: LearnMap) {
        self.set_map(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&LearnMap) -> R,
    {
        f(&MidiLearn::map(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::midi::{Channel, VoiceID};

    fn on(channel: u8, key: u8) -> NoteEvent<()> {
        NoteEvent::NoteOn {
            timing: 0,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key),
            velocity: 0.8,
        }
    }

    fn off(channel: u8, key: u8) -> NoteEvent<()> {
        NoteEvent::NoteOff {
            timing: 0,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key),
            velocity: 0.0,
        }
    }

    fn cc(channel: u8, cc: u8, value: f32) -> NoteEvent<()> {
        NoteEvent::MidiCC {
            timing: 0,
            channel,
            cc,
            value,
        }
    }

    #[test]
    fn an_armed_action_learns_the_next_controller_and_each_rise_presses_it_once() {
        let learn = MidiLearn::default();
        assert_eq!(learn.hear(&cc(0, 64, 1.0)), Learned::NotMine);
        learn.arm(Some(Action::Again));
        assert_eq!(learn.armed(), Some(Action::Again));
        assert_eq!(learn.hear(&cc(3, 64, 1.0)), Learned::Consumed);
        assert_eq!(learn.armed(), None);
        assert_eq!(
            learn.binding(Action::Again),
            Some(Binding {
                control: Control::Cc,
                channel: 3,
                number: 64
            })
        );
        // Let go, then a momentary press: 127 then 0 is one press.
        assert_eq!(learn.hear(&cc(3, 64, 0.0)), Learned::Consumed);
        assert_eq!(learn.hear(&cc(3, 64, 1.0)), Learned::Press(Action::Again));
        assert_eq!(learn.hear(&cc(3, 64, 0.9)), Learned::Consumed);
        assert_eq!(learn.hear(&cc(3, 64, 0.0)), Learned::Consumed);
        // Another channel or controller is the player's.
        assert_eq!(learn.hear(&cc(2, 64, 1.0)), Learned::NotMine);
        assert_eq!(learn.hear(&cc(3, 1, 1.0)), Learned::NotMine);
    }

    #[test]
    fn a_learned_key_presses_on_its_note_on_and_its_release_is_consumed() {
        let learn = MidiLearn::default();
        learn.arm(Some(Action::AnswerNow));
        assert_eq!(learn.hear(&on(9, 36)), Learned::Consumed);
        assert_eq!(learn.hear(&off(9, 36)), Learned::Consumed);
        assert_eq!(learn.hear(&on(9, 36)), Learned::Press(Action::AnswerNow));
        assert_eq!(learn.hear(&off(9, 36)), Learned::Consumed);
        assert_eq!(learn.hear(&on(0, 36)), Learned::NotMine);
        learn.forget(Action::AnswerNow);
        assert_eq!(learn.hear(&on(9, 36)), Learned::NotMine);
    }

    #[test]
    fn a_control_learned_again_leaves_its_old_action_and_bindings_persist() {
        let learn = MidiLearn::default();
        learn.arm(Some(Action::Keep));
        learn.hear(&cc(0, 20, 1.0));
        learn.arm(Some(Action::Again));
        learn.hear(&cc(0, 20, 1.0));
        assert_eq!(learn.binding(Action::Keep), None);
        assert!(learn.binding(Action::Again).is_some());
        let text = serde_json::to_string(&learn.map()).unwrap();
        let back = MidiLearn::default();
        back.set_map(serde_json::from_str(&text).unwrap());
        assert_eq!(back.map(), learn.map());
        assert!(serde_json::from_str::<LearnMap>(r#"{"again":{"control":"pedal"}}"#).is_err());
    }
}
