//! `datasets.play_frame`: event frames `[T, 2, H, W]` as a grid of images, one per time step, with
//! OFF events (`p = 0`, channel 0) in green and ON events (channel 1) in blue on black, as
//! SpikingJelly's `play_frame` colours them. SpikingJelly plays the frames as an animation or
//! saves a GIF; here they are laid out left to right, top to bottom, labelled `t = k`.
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::raster::Raster;
use plotters::coord::Shift;
use plotters::prelude::*;

/// At most this many frames per row.
const COLUMNS: usize = 8;

struct FrameGrid<'a> {
    frames: &'a [f32],
    t: usize,
    h: usize,
    w: usize,
    scale: usize,
    title: &'a str,
}

/// A channel value as a colour intensity: counts are clamped to [0, 1] (SpikingJelly's
/// `ToPILImage` maps 1 to full intensity and wraps counts above 1 around modulo 256).
fn intensity(v: f32) -> u8 {
    (255.0 * v.clamp(0.0, 1.0)).round() as u8
}

impl Draw for FrameGrid<'_> {
    const PLOT: &'static str = "play_frame";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let (h, w, s) = (self.h, self.w, self.scale);
        let cols = self.t.min(COLUMNS);
        let rows = self.t.div_ceil(cols);
        let area = area.titled(self.title, (FAMILY, 20)).map_err(&e)?;
        for (k, cell) in area
            .split_evenly((rows, cols))
            .iter()
            .enumerate()
            .take(self.t)
        {
            let cell = cell.titled(&format!("t = {k}"), (FAMILY, 14)).map_err(&e)?;
            let (cw, ch) = cell.dim_in_pixel();
            let (x0, y0) = (
                (cw as i32 - (w * s) as i32) / 2,
                (ch as i32 - (h * s) as i32) / 2,
            );
            cell.draw(&Rectangle::new(
                [(x0, y0), (x0 + (w * s) as i32, y0 + (h * s) as i32)],
                BLACK.filled(),
            ))
            .map_err(&e)?;
            let frame = &self.frames[k * 2 * h * w..(k + 1) * 2 * h * w];
            for y in 0..h {
                for x in 0..w {
                    let (off, on) = (
                        intensity(frame[y * w + x]),
                        intensity(frame[(h + y) * w + x]),
                    );
                    if off == 0 && on == 0 {
                        continue;
                    }
                    let (px, py) = (x0 + (x * s) as i32, y0 + (y * s) as i32);
                    cell.draw(&Rectangle::new(
                        [(px, py), (px + s as i32, py + s as i32)],
                        RGBColor(0, off, on).filled(),
                    ))
                    .map_err(&e)?;
                }
            }
        }
        Ok(None)
    }
}

/// `play_frame(x)` for frames `[T, 2, H, W]` given as `t·2·h·w` values in C order: a grid of the
/// T frames, each pixel scaled up so that a frame is about 160 pixels across. Save it with
/// [`Figure::save`] (PNG or SVG) where SpikingJelly would save a GIF.
pub fn play_frame(frames: &[f32], t: usize, h: usize, w: usize) -> Result<Figure> {
    let plot = "play_frame";
    let n = t
        .checked_mul(2)
        .and_then(|v| v.checked_mul(h))
        .and_then(|v| v.checked_mul(w));
    if t == 0 || h == 0 || w == 0 || n != Some(frames.len()) {
        return Err(PlotError::Data {
            plot,
            message: format!(
                "{} values do not form [T={t}, 2, H={h}, W={w}] frames",
                frames.len()
            ),
        });
    }
    if frames.iter().any(|v| !v.is_finite()) {
        return Err(PlotError::Data {
            plot,
            message: "frames have non-finite values".into(),
        });
    }
    let scale = (160 / h.max(w)).max(1);
    let cols = t.min(COLUMNS);
    let rows = t.div_ceil(cols);
    let title = format!("play_frame: {t} frames of {h} x {w}");
    // Figure::render rejects sides over 16384 px (u32::MAX stands for larger).
    let px = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    let (width, height) = (
        px((cols * (w * scale + 12) + 16).max(360)),
        px(rows * (h * scale + 30) + 50),
    );
    Figure::render(
        &title,
        width,
        height,
        &FrameGrid {
            frames,
            t,
            h,
            w,
            scale,
            title: &title,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_events_are_green_and_on_events_blue() {
        // Two 1 x 2 frames: frame 0 has an OFF event at x = 0, frame 1 an ON event (count 3) at x = 1.
        let frames = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0];
        let f = play_frame(&frames, 2, 1, 2).unwrap();
        let svg = f.svg();
        assert!(svg.contains("#00FF00"), "OFF count 1 is full green");
        assert!(svg.contains("#0000FF"), "ON count 3 clamps to full blue");
        assert!(svg.contains("t = 0") && svg.contains("t = 1"));
        assert_eq!(intensity(0.5), 128);
        assert!(play_frame(&frames, 3, 1, 2).is_err());
        assert!(play_frame(&[f32::NAN; 4], 1, 1, 2).is_err());
        assert!(play_frame(&[], 0, 1, 1).is_err());
        assert!(play_frame(&[0.0; 2 * 20_000], 1, 1, 20_000)
            .unwrap_err()
            .to_string()
            .contains("too large"));
    }
}
