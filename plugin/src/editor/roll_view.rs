//! The editor's piano roll: the history drained from the audio thread's feed, the waterfall of
//! notes, the keyboard strip, bar numbers, the key in use and the player's chord. GUI thread only.

use super::*;
use crate::chord_name;
use descant_inference::worker::{Veto, VetoOutcome};

/// The vetoed notes' colour.
const VETO_COLOR: egui::Color32 = egui::Color32::from_rgb(230, 80, 70);

/// The veto an outcome is about.
fn veto_of(outcome: &VetoOutcome) -> Veto {
    match *outcome {
        VetoOutcome::Replanned(v)
        | VetoOutcome::Replaced(v, _)
        | VetoOutcome::Dropped(v)
        | VetoOutcome::TooLate(v) => v,
    }
}

/// The latest veto's outcome in words, if there was one.
pub(super) fn veto_line(shared: &WorkerShared) -> Option<String> {
    let outcome = *shared.vetoed.lock().back()?;
    let v = veto_of(&outcome);
    let note = chord_name::note_name(v.key);
    Some(match outcome {
        VetoOutcome::Replanned(_) => {
            format!(
                "Vetoed {note} at beat {:.2}: planned again without it",
                v.beat
            )
        }
        VetoOutcome::Replaced(_, by) => format!(
            "Vetoed {note} at beat {:.2}: {} plays instead",
            v.beat,
            chord_name::note_name(by)
        ),
        VetoOutcome::Dropped(_) => format!(
            "Vetoed {note} at beat {:.2}: no time to plan again, so it was dropped",
            v.beat
        ),
        VetoOutcome::TooLate(_) => format!(
            "Vetoed {note} at beat {:.2}: too late, it had started",
            v.beat
        ),
    })
}

impl DescantEditor {
    /// Moves the audio thread's roll events into the history.
    pub(super) fn drain_roll(&mut self, playhead: f64) {
        let mut rx = self.roll.lock();
        while let Ok(ev) = rx.pop() {
            if ev.on {
                if self.history.len() == ROLL_HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(RollNote {
                    note: PlayedNote {
                        key: ev.key,
                        start: ev.beat,
                        end: None,
                        velocity: ev.velocity,
                    },
                    descant: ev.descant,
                });
            } else if let Some(n) =
                self.history.iter_mut().rev().find(|n| {
                    n.note.key == ev.key && n.descant == ev.descant && n.note.end.is_none()
                })
            {
                n.note.end = Some(ev.beat.max(n.note.start));
            }
        }
        // After a seek back, forget the future that never happened.
        self.history.retain(|n| n.note.start <= playhead + 1.0);
    }

    /// The waterfall: the player's and Descant's recent notes, the plan ahead, bars and beats.
    pub(super) fn draw_roll(&self, ui: &mut egui::Ui, height: f32) {
        let (rect, response) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), height),
            egui::Sense::click(),
        );
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ROLL_BACKGROUND);
        // The keyboard strip on the left; time runs in the rest.
        let keys_rect =
            egui::Rect::from_min_size(rect.min, egui::vec2(KEYBOARD_WIDTH, rect.height()));
        let rect = egui::Rect::from_min_max(
            egui::pos2(rect.left() + KEYBOARD_WIDTH, rect.top()),
            rect.max,
        );
        let block = self.shared.block.read();
        let playhead = block.playhead_beat;
        let t0 = playhead - ROLL_PAST_BEATS;
        let span = ROLL_PAST_BEATS + ROLL_FUTURE_BEATS;
        let x = |beat: f64| rect.left() + ((beat - t0) / span) as f32 * rect.width();
        let epoch = block.epoch;
        let planned: Vec<_> = self
            .shared
            .planned
            .lock()
            .iter()
            .filter(|n| n.epoch == epoch && n.onset_beat >= playhead)
            .copied()
            .collect();
        let visible = self
            .history
            .iter()
            .filter(|n| n.note.end.unwrap_or(playhead) >= t0);
        let keys = visible
            .clone()
            .map(|n| n.note.key)
            .chain(planned.iter().map(|n| n.key));
        let (lo, hi) = key_range(keys);
        let key_h = rect.height() / f32::from(hi - lo + 1);
        let y = |key: u8| rect.bottom() - f32::from(key - lo + 1) * key_h;
        // Black keys as darker rows, then beat and bar lines.
        draw_black_rows(&painter, rect, (lo, hi), key_h, &y);
        self.draw_keyboard(&painter, keys_rect, (lo, hi), key_h, &y);
        let bars = (block.bar_start_beat, block.meter.bar_beats());
        draw_beats(&painter, rect, bars, (t0, span), &x);
        let note_rect = |key: u8, start: f64, end: f64| {
            egui::Rect::from_min_max(
                egui::pos2(x(start), y(key) + 1.0),
                egui::pos2(x(end).max(x(start) + 2.0), y(key) + key_h - 1.0),
            )
        };
        for n in visible {
            let color = if n.descant {
                DESCANT_COLOR
            } else {
                PLAYER_COLOR
            };
            let r = note_rect(n.note.key, n.note.start, n.note.end.unwrap_or(playhead));
            painter.rect_filled(r, 2.0, color.gamma_multiply(0.5 + 0.5 * n.note.velocity));
        }
        let clicked = response
            .clicked()
            .then(|| response.interact_pointer_pos())
            .flatten();
        for n in &planned {
            let r = note_rect(n.key, n.onset_beat, n.onset_beat + n.length_beats);
            painter.rect_stroke(
                r,
                2.0,
                egui::Stroke::new(1.5, DESCANT_COLOR),
                egui::StrokeKind::Inside,
            );
            // A click on a planned note vetoes it (the worker plans again without it).
            if clicked.is_some_and(|p| r.expand(2.0).contains(p)) {
                self.shared.request_veto(Veto {
                    key: n.key,
                    beat: n.onset_beat,
                });
            }
        }
        // Vetoed notes: crossed out in red where they were planned.
        for outcome in self.shared.vetoed.lock().iter() {
            let v = veto_of(outcome);
            if v.beat < t0 || v.beat > t0 + span || v.key < lo || v.key > hi {
                continue;
            }
            let r = note_rect(v.key, v.beat, v.beat + 0.5);
            let stroke = egui::Stroke::new(1.5, VETO_COLOR);
            painter.rect_stroke(r, 2.0, stroke, egui::StrokeKind::Inside);
            painter.line_segment([r.left_top(), r.right_bottom()], stroke);
            painter.line_segment([r.left_bottom(), r.right_top()], stroke);
        }
        painter.line_segment(
            [
                egui::pos2(x(playhead), rect.top()),
                egui::pos2(x(playhead), rect.bottom()),
            ],
            egui::Stroke::new(2.0, egui::Color32::WHITE),
        );
        self.draw_labels(&painter, rect);
    }

    /// The roll's legend, top left, and the key in use and the chord the player sounds now, top
    /// right.
    fn draw_labels(&self, painter: &egui::Painter, rect: egui::Rect) {
        let mut at = rect.left_top() + egui::vec2(6.0, 4.0);
        for (label, color) in [
            ("you", PLAYER_COLOR),
            ("Descant played", DESCANT_COLOR),
            (
                "outlined: planned (click to veto)",
                egui::Color32::from_gray(170),
            ),
            ("crossed: vetoed", VETO_COLOR),
        ] {
            let shown = painter.text(
                at,
                egui::Align2::LEFT_TOP,
                label,
                egui::FontId::proportional(11.0),
                color,
            );
            at.x = shown.right() + 12.0;
        }
        // The key in use and the chord the player sounds now, top right.
        let sounding: Vec<u8> = self
            .history
            .iter()
            .filter(|n| !n.descant && n.note.end.is_none())
            .map(|n| n.note.key)
            .collect();
        let chord = chord_name::chord(&sounding).unwrap_or_else(|| "–".to_owned());
        painter.text(
            rect.right_top() + egui::vec2(-6.0, 4.0),
            egui::Align2::RIGHT_TOP,
            format!("{}   Chord: {chord}", key_line(&self.shared)),
            egui::FontId::proportional(11.0),
            ROLL_LABEL_COLOR,
        );
    }

    /// The keyboard strip: white and black keys for the roll's rows, every C named, and every
    /// white key named when the rows are tall enough to read.
    fn draw_keyboard(
        &self,
        painter: &egui::Painter,
        rect: egui::Rect,
        (lo, hi): (u8, u8),
        key_h: f32,
        y: &impl Fn(u8) -> f32,
    ) {
        for key in lo..=hi {
            let black = matches!(key % 12, 1 | 3 | 6 | 8 | 10);
            let row = egui::Rect::from_min_size(
                egui::pos2(rect.left(), y(key)),
                egui::vec2(rect.width(), key_h),
            );
            let fill = if black {
                egui::Color32::from_gray(40)
            } else {
                WHITE_KEY_COLOR
            };
            painter.rect_filled(row.shrink2(egui::vec2(0.0, 0.5)), 0.0, fill);
            if !black && (key % 12 == 0 || key_h >= 11.0) {
                painter.text(
                    egui::pos2(row.right() - 3.0, row.center().y),
                    egui::Align2::RIGHT_CENTER,
                    chord_name::note_name(key),
                    egui::FontId::proportional((key_h - 1.0).clamp(7.0, 11.0)),
                    KEY_NAME_COLOR,
                );
            }
        }
    }
}

/// The beat and bar lines of the roll from beat `t0` over `span` beats (`x` places a beat), with
/// the bar numbers from the host's bar 1; `bars` is a bar line's beat and the bar's length.
fn draw_beats(
    painter: &egui::Painter,
    rect: egui::Rect,
    (bar_start, bar_beats): (f64, f64),
    (t0, span): (f64, f64),
    x: &dyn Fn(f64) -> f32,
) {
    let mut beat = t0.ceil();
    while beat <= t0 + span {
        let on_bar = ((beat - bar_start) / bar_beats).fract().abs() < 1e-6;
        // (Not at the right edge, where the number would be cut.)
        if on_bar && beat >= 0.0 && x(beat) + 16.0 < rect.right() {
            // Bar numbers from the host's bar 1 (a steady meter: bars tile from beat 0).
            painter.text(
                egui::pos2(x(beat) + 3.0, rect.bottom() - 3.0),
                egui::Align2::LEFT_BOTTOM,
                format!("{}", (beat / bar_beats).round() as i64 + 1),
                egui::FontId::proportional(11.0),
                BAR_NUMBER_COLOR,
            );
        }
        let color = if on_bar {
            egui::Color32::from_gray(95)
        } else {
            egui::Color32::from_gray(45)
        };
        painter.line_segment(
            [
                egui::pos2(x(beat), rect.top()),
                egui::pos2(x(beat), rect.bottom()),
            ],
            egui::Stroke::new(1.0, color),
        );
        beat += 1.0;
    }
}

/// The keys the roll shows: at least C4 to C5, and every key in `keys`, with two keys to spare
/// on either side.
pub(super) fn key_range(keys: impl Iterator<Item = u8>) -> (u8, u8) {
    let (mut lo, mut hi) = (60u8, 72u8);
    for k in keys {
        lo = lo.min(k);
        hi = hi.max(k);
    }
    (lo.saturating_sub(2), hi.saturating_add(2).min(127))
}

/// The black keys' rows, darker, across the roll (`y` places a key's row, `key_h` high).
fn draw_black_rows(
    painter: &egui::Painter,
    rect: egui::Rect,
    (lo, hi): (u8, u8),
    key_h: f32,
    y: &impl Fn(u8) -> f32,
) {
    for key in lo..=hi {
        if matches!(key % 12, 1 | 3 | 6 | 8 | 10) {
            let row = egui::Rect::from_min_size(
                egui::pos2(rect.left(), y(key)),
                egui::vec2(rect.width(), key_h),
            );
            painter.rect_filled(row, 0.0, egui::Color32::from_rgb(17, 21, 30));
        }
    }
}
