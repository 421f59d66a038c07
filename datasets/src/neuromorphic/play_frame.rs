//! `play_frame(x)`: frames `[T, 2, H, W]` drawn as a grid of images (see [`sj_plots::play_frame`]).
use super::integrate::tensor_values;
use crate::error::{DatasetError, Result};
use sj_plots::Figure;
use tch::Tensor;

/// `play_frame(x)`: the `[T, 2, H, W]` frames (any device and dtype) as a figure, OFF events green
/// and ON events blue; shown inline in evcxr, saved with `Figure::save`.
pub fn play_frame(x: &Tensor) -> Result<Figure> {
    let size = x.size();
    let [t, 2, h, w] = size.as_slice() else {
        return Err(DatasetError::config(
            "play_frame",
            format!("expected frames [T, 2, H, W], got {size:?}"),
        ));
    };
    let (_, values) = tensor_values(x)?;
    sj_plots::play_frame(&values, *t as usize, *h as usize, *w as usize)
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
    }
}
