//! `visualizing.plot_2d_heatmap`: a `[T, N]` array as a colour map (x = step, y = neuron).
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::axis::int_label;
use crate::font::FAMILY;
use crate::grid::Grid;
use plotters::coord::Shift;
use plotters::prelude::*;

struct Heatmap<'a> {
    array: &'a Grid,
    title: &'a str,
    xlabel: &'a str,
    ylabel: &'a str,
    lo: f64,
    hi: f64,
}

/// The viridis-like colour of `t` in [0, 1] (dark purple → teal → yellow).
fn colour(t: f64) -> RGBColor {
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

impl Draw for Heatmap<'_> {
    const PLOT: &'static str = "plot_2d_heatmap";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let e = draw_err(Self::PLOT);
        let (t, n) = (self.array.rows(), self.array.cols());
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let w = area.dim_in_pixel().0;
        let (main, bar) = area.split_horizontally(w - 90);
        let mut chart = ChartBuilder::on(&main)
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5..t as f64 - 0.5, -0.5..n as f64 - 0.5)
            .map_err(&e)?;
        chart.configure_mesh().disable_mesh().x_label_formatter(&int_label).y_label_formatter(&int_label).x_desc(self.xlabel).y_desc(self.ylabel).label_style((FAMILY, 14)).draw().map_err(&e)?;
        let span = (self.hi - self.lo).max(f64::MIN_POSITIVE);
        chart
            .draw_series((0..t).flat_map(|s| (0..n).map(move |i| (s, i))).map(|(s, i)| {
                let v = (self.array.at(s, i) as f64 - self.lo) / span;
                let (x, y) = (s as f64, i as f64);
                Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], colour(v).filled())
            }))
            .map_err(&e)?;
        let mut scale = ChartBuilder::on(&bar)
            .margin(8)
            .margin_left(4)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..1.0, self.lo..self.lo + span)
            .map_err(&e)?;
        scale.configure_mesh().disable_mesh().x_labels(0).y_labels(5).label_style((FAMILY, 12)).draw().map_err(&e)?;
        scale
            .draw_series((0..64).map(|k| {
                let (a, b) = (self.lo + span * k as f64 / 64.0, self.lo + span * (k + 1) as f64 / 64.0);
                Rectangle::new([(0.0, a), (1.0, b)], colour((k as f64 + 0.5) / 64.0).filled())
            }))
            .map_err(&e)?;
        Ok(())
    }
}

/// `plot_2d_heatmap(array, title, xlabel, ylabel)`: `array` is `[T, N]` (rows are time steps); the
/// colour scale spans the data's min to max and is drawn on the right.
pub fn plot_2d_heatmap(array: &Grid, title: &str, xlabel: &str, ylabel: &str) -> Result<Figure> {
    let values = (0..array.rows()).flat_map(|r| (0..array.cols()).map(move |c| (r, c))).map(|(r, c)| array.at(r, c) as f64);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if !v.is_finite() {
            return Err(PlotError::Data { plot: "plot_2d_heatmap", message: "array has non-finite values".into() });
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    Figure::render(title, 820, 440, &Heatmap { array, title, xlabel, ylabel, lo, hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_data_and_bad_input_is_rejected() {
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
        // 2 steps x 1 neuron: step 0 is the minimum (dark), step 1 the maximum (yellow).
        let g = Grid::new(vec![0.0, 1.0], 2, 1).unwrap();
        let f = plot_2d_heatmap(&g, "h", "t", "n").unwrap();
        let svg = f.svg();
        assert!(svg.contains("#440154") && svg.contains("#FDE725"), "min and max colours are drawn");
        assert!(plot_2d_heatmap(&Grid::new(vec![f32::NAN, 1.0], 2, 1).unwrap(), "h", "t", "n").is_err());
    }
}
