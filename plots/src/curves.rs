//! Line plots of named series over a shared x axis: surrogate curves, loss and accuracy per epoch.
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One named curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// y values, one per x.
    pub y: Vec<f32>,
}

impl Series {
    /// A labelled series.
    pub fn new(label: impl Into<String>, y: Vec<f32>) -> Self {
        Series { label: label.into(), y }
    }
}

/// matplotlib's tab10 colours, so curves look as they do in SpikingJelly's figures.
const TAB10: [RGBColor; 10] = [
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

struct Curves<'a> {
    x: &'a [f32],
    series: &'a [Series],
    title: &'a str,
    xlabel: &'a str,
    ylabel: &'a str,
}

impl Draw for Curves<'_> {
    const PLOT: &'static str = "plot_curves";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let e = draw_err(Self::PLOT);
        let (x0, x1) = self.x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v as f64), b.max(v as f64)));
        let ys = self.series.iter().flat_map(|s| s.y.iter().map(|&v| v as f64));
        let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((y1 - y0) * 0.06).max(1e-3);
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0 - pad..y1 + pad)
            .map_err(&e)?;
        chart.configure_mesh().x_desc(self.xlabel).y_desc(self.ylabel).label_style((FAMILY, 14)).draw().map_err(&e)?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = TAB10[i % TAB10.len()];
            chart
                .draw_series(LineSeries::new(self.x.iter().zip(&s.y).map(|(&x, &y)| (x as f64, y as f64)), colour.stroke_width(2)))
                .map_err(&e)?
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(&e)?;
        Ok(())
    }
}

/// Several labelled curves over the same `x` (e.g. a surrogate's Heaviside, primitive and
/// gradient; train and test accuracy per epoch). Each series must have one y per x.
pub fn plot_curves(x: &[f32], series: &[Series], title: &str, xlabel: &str, ylabel: &str) -> Result<Figure> {
    let plot = "plot_curves";
    if x.is_empty() || series.is_empty() {
        return Err(PlotError::Data { plot, message: "need at least one x value and one series".into() });
    }
    if let Some(s) = series.iter().find(|s| s.y.len() != x.len()) {
        return Err(PlotError::Data { plot, message: format!("series '{}' has {} values for {} x values", s.label, s.y.len(), x.len()) });
    }
    if x.iter().chain(series.iter().flat_map(|s| &s.y)).any(|v| !v.is_finite()) {
        return Err(PlotError::Data { plot, message: "non-finite values".into() });
    }
    Figure::render(title, 760, 440, &Curves { x, series, title, xlabel, ylabel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_series_and_errors() {
        let x = [0.0f32, 1.0, 2.0];
        let one = plot_curves(&x, &[Series::new("a", vec![0.0, 1.0, 0.5])], "c", "x", "y").unwrap();
        let two = plot_curves(&x, &[Series::new("a", vec![0.0, 1.0, 0.5]), Series::new("b", vec![1.0, 0.0, 0.2])], "c", "x", "y").unwrap();
        // Each series adds its polyline and its legend sample.
        assert_eq!(two.svg().matches("<polyline").count(), one.svg().matches("<polyline").count() + 2);
        assert!(two.svg().contains("\nb\n</text>"), "legend label b is drawn");
        assert!(plot_curves(&x, &[Series::new("a", vec![0.0])], "c", "x", "y").is_err());
        assert!(plot_curves(&[], &[], "c", "x", "y").is_err());
    }
}
