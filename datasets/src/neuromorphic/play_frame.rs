//! `play_frame(x)`: frames `[T, 2, H, W]` drawn as a grid of images (see [`sj_plots::play_frame`]),
//! and `play_frame_gif(x)`: the same frames as an animated GIF, shown inline or saved with
//! `save_gif_to` (SpikingJelly's `play_frame(x, save_gif_to=path)`).
use super::integrate::tensor_values;
use crate::error::{DatasetError, Result};
use sj_plots::{Animation, Figure};
use tch::Tensor;

/// The `[T, 2, H, W]` sides and values of `x`, or an error naming `what`.
fn frame_values(what: &str, x: &Tensor) -> Result<(usize, usize, usize, Vec<f32>)> {
    let size = x.size();
    let [t, 2, h, w] = size.as_slice() else {
        return Err(DatasetError::config(
            what,
            format!("expected frames [T, 2, H, W], got {size:?}"),
        ));
    };
    let (_, values) = tensor_values(x)?;
    Ok((*t as usize, *h as usize, *w as usize, values))
}

/// `play_frame(x, save_gif_to=...)`: the `[T, 2, H, W]` frames (any device and dtype) as an
/// animated GIF, OFF events green and ON events blue, 100 ms a frame. Shown inline in evcxr;
/// `.save_gif_to("a.gif")` writes it at the frames' own size, as SpikingJelly does.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let frames = tch::Tensor::zeros([8, 2, 34, 34], (tch::Kind::Float, tch::Device::Cpu));
/// let gif = sj_datasets::neuromorphic::play_frame_gif(&frames)?;
/// assert_eq!(gif.frame_count(), 8);
/// gif.save_gif_to("/tmp/nmnist.gif")?;
/// # Ok(()) }
/// ```
pub fn play_frame_gif(x: &Tensor) -> Result<Animation> {
    let (t, h, w, values) = frame_values("play_frame_gif", x)?;
    sj_plots::play_frame_gif(&values, t, h, w)
        .map_err(|e| DatasetError::config("play_frame_gif", e.to_string()))
}

/// `play_frame(x)`: the `[T, 2, H, W]` frames (any device and dtype) as a figure, OFF events green
/// and ON events blue; shown inline in evcxr, saved with `Figure::save`.
pub fn play_frame(x: &Tensor) -> Result<Figure> {
    let (t, h, w, values) = frame_values("play_frame", x)?;
    sj_plots::play_frame(&values, t, h, w)
        .map_err(|e| DatasetError::config("play_frame", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuromorphic::{integrate_events_by_fixed_frames_number, load_atis_bin, SplitBy};

    #[test]
    fn checklist_242_plays_the_real_nmnist_sample() {
        let e = load_atis_bin(crate::neuromorphic::tests::sample_nmnist()).unwrap();
        let frames =
            integrate_events_by_fixed_frames_number(&e, SplitBy::Number, 4, 34, 34).unwrap();
        let fig = play_frame(&frames).unwrap();
        assert_eq!(fig.size(), (4 * (34 * 4 + 12) + 16, 34 * 4 + 30 + 50));
        assert!(fig.ink() > 0.2, "four black frames with events");
        assert!(play_frame(&frames.get(0))
            .unwrap_err()
            .to_string()
            .contains("[T, 2, H, W]"));
        // The GIF: one frame per step at 34 x 34, holding the events' colours.
        let gif = play_frame_gif(&frames).unwrap();
        assert_eq!((gif.frame_count(), gif.size()), (4, (34, 34)));
        assert!(play_frame_gif(&frames.get(0))
            .unwrap_err()
            .to_string()
            .starts_with("play_frame_gif: expected frames [T, 2, H, W]"));
    }
}
