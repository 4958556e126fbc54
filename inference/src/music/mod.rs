//! What the engine knows of music, as plain functions and small `Copy` types: keys and the key
//! finder, musical time (meters, ticks, beats), phrasing, the critic that judges an answer, the
//! onset choice, metric feel and the originality index. The onset choice and the time arithmetic
//! also run on the audio thread and never allocate.

pub mod critic;
pub mod feel;
pub mod home;
pub mod key;
pub mod onset;
pub mod originality;
pub mod phrasing;
pub mod taste;
pub mod time;
