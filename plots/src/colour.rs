//! Colour maps shared by the plots: matplotlib's tab10 cycle, viridis with its colour bar, and gray.
use crate::error::{draw_err, Result};
use crate::font::FAMILY;
use plotters::coord::Shift;
use plotters::prelude::*;

/// matplotlib's tab10 colours, so curves and bars look as they do in SpikingJelly's figures.
pub(crate) const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The viridis-like colour of `t` in [0, 1] (dark purple → teal → yellow).
pub(crate) fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.0, [68.0, 1.0, 84.0]),
        (0.25, [59.0, 82.0, 139.0]),
        (0.5, [33.0, 145.0, 140.0]),
        (0.75, [94.0, 201.0, 98.0]),
        (1.0, [253.0, 231.0, 37.0]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = STOPS.iter().position(|(s, _)| *s >= t).unwrap_or(4).max(1);
    let ((s0, c0), (s1, c1)) = (STOPS[i - 1], STOPS[i]);
    let f = (t - s0) / (s1 - s0);
    let c = |k: usize| (c0[k] + f * (c1[k] - c0[k])).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

/// matplotlib's `gray`: black at 0, white at 1.
pub(crate) fn gray(t: f64) -> RGBColor {
    let g = (255.0 * t.clamp(0.0, 1.0)).round() as u8;
    RGBColor(g, g, g)
}

/// A vertical viridis colour bar labelled from `lo` to `hi`, filling `area` (the strip right of a map).
pub(crate) fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
    plot: &'static str,
) -> Result<()> {
    let e = draw_err(plot);
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let mut scale = ChartBuilder::on(area)
        .margin(8)
        .margin_left(4)
        .x_label_area_size(32)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..1.0, lo..lo + span)
        .map_err(&e)?;
    scale
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(5)
        .label_style((FAMILY, 12))
        .draw()
        .map_err(&e)?;
    scale
        .draw_series((0..64).map(|k| {
            let (a, b) = (
                lo + span * k as f64 / 64.0,
                lo + span * (k + 1) as f64 / 64.0,
            );
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                viridis((k as f64 + 0.5) / 64.0).filled(),
            )
        }))
        .map_err(&e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_maps_end_points() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(0.5), RGBColor(33, 145, 140));
        assert_eq!(viridis(2.0), viridis(1.0), "clamped");
        assert_eq!(gray(0.0), RGBColor(0, 0, 0));
        assert_eq!(gray(0.5), RGBColor(128, 128, 128));
        assert_eq!(gray(1.0), RGBColor(255, 255, 255));
    }
}
