//! `datasets.play_frame`: event frames `[T, 2, H, W]` as a grid of images, one per time step, with
//! OFF events (`p = 0`, channel 0) in green and ON events (channel 1) in blue on black, as
//! SpikingJelly's `play_frame` colours them. [`play_frame`] lays them out left to right, top to
//! bottom, labelled `t = k`; [`play_frame_gif`] plays them as an animated GIF, as SpikingJelly does.
use crate::animation::Animation;
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

/// Errors unless `frames` holds `[T, 2, H, W]` finite values with no zero side.
fn check_frames(plot: &'static str, frames: &[f32], t: usize, h: usize, w: usize) -> Result<()> {
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
    Ok(())
}

/// The pixel size a frame is enlarged to when shown: about 160 pixels across.
fn display_scale(h: usize, w: usize) -> usize {
    (160 / h.max(w)).max(1)
}

/// SpikingJelly's `play_frame(x, save_gif_to=...)`: frames `[T, 2, H, W]` (`t·2·h·w` values in C
/// order) as an animated GIF of `H x W` pixels, OFF events green, ON events blue, 100 ms a frame,
/// looping. Show it inline (enlarged about 160 pixels across) or save it with
/// [`Animation::save_gif_to`] (at its own size, as SpikingJelly saves it).
pub fn play_frame_gif(frames: &[f32], t: usize, h: usize, w: usize) -> Result<Animation> {
    check_frames("play_frame_gif", frames, t, h, w)?;
    let mut rgb = vec![0u8; t * h * w * 3];
    for (k, out) in rgb.chunks_exact_mut(h * w * 3).enumerate() {
        let frame = &frames[k * 2 * h * w..(k + 1) * 2 * h * w];
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            px[1] = intensity(frame[i]);
            px[2] = intensity(frame[h * w + i]);
        }
    }
    Animation::new(
        format!("play_frame: {t} frames of {h} x {w}"),
        w,
        h,
        rgb,
        100,
        display_scale(h, w),
    )
}

/// `play_frame(x)` for frames `[T, 2, H, W]` given as `t·2·h·w` values in C order: a grid of the
/// T frames, each pixel scaled up so that a frame is about 160 pixels across. Save it with
/// [`Figure::save`] (PNG or SVG) where SpikingJelly would save a GIF.
pub fn play_frame(frames: &[f32], t: usize, h: usize, w: usize) -> Result<Figure> {
    check_frames("play_frame", frames, t, h, w)?;
    let scale = display_scale(h, w);
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
    fn gif_has_one_frame_per_step_and_the_right_colours() {
        // Three 2 x 3 frames: an OFF event at (y 0, x 0) at t = 0, an ON event at (1, 2) at t = 1.
        let (t, h, w) = (3, 2, 3);
        let mut frames = vec![0.0f32; t * 2 * h * w];
        frames[0] = 1.0;
        frames[2 * h * w + h * w + w + 2] = 0.5;
        let anim = play_frame_gif(&frames, t, h, w).unwrap();
        assert_eq!((anim.frame_count(), anim.size()), (3, (3, 2)));
        for scale in [1u16, 4] {
            let gif = anim.gif(scale).unwrap();
            let mut opts = gif::DecodeOptions::new();
            opts.set_color_output(gif::ColorOutput::RGBA);
            let mut dec = opts.read_info(gif.as_slice()).unwrap();
            assert_eq!((dec.width(), dec.height()), (3 * scale, 2 * scale));
            let mut decoded = Vec::new();
            while let Some(f) = dec.read_next_frame().unwrap() {
                assert_eq!(f.delay, 10, "100 ms");
                decoded.push(f.buffer.to_vec());
            }
            assert_eq!(decoded.len(), 3);
            let px = |f: usize, y: usize, x: usize| {
                let i = ((y * usize::from(scale)) * 3 * usize::from(scale)
                    + x * usize::from(scale))
                    * 4;
                decoded[f][i..i + 3].to_vec()
            };
            assert_eq!(px(0, 0, 0), [0, 255, 0], "OFF is green");
            assert_eq!(px(1, 1, 2), [0, 0, 128], "ON 0.5 is half blue");
            assert_eq!(px(2, 1, 1), [0, 0, 0]);
        }
        let dir = std::env::temp_dir().join(format!("sj-plots-gif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        anim.save_gif_to(dir.join("a.gif")).unwrap();
        assert_eq!(
            std::fs::read(dir.join("a.gif")).unwrap(),
            anim.gif(1).unwrap()
        );
        assert!(anim.digest().starts_with(
            "Animation 'play_frame: 3 frames of 2 x 3' 3 frames of 3x2 px, 100 ms each"
        ));
        assert!(play_frame_gif(&frames[1..], t, h, w).is_err());
        assert!(play_frame_gif(&[], 0, 1, 1).is_err());
        assert!(anim
            .save_gif_to(dir.join("missing/a.gif"))
            .unwrap_err()
            .to_string()
            .contains("missing/a.gif"));
    }

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
