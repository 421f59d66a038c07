//! Line plots of named series over a shared x axis: surrogate curves, loss and accuracy per epoch.
use crate::axis::int_label;
use crate::colour::TAB10;
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::raster::Raster;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The most points a line figure draws (all its curves together): an SVG polyline costs about
/// 12 bytes a point, and a figure is about 800 pixels wide.
pub const MAX_POINTS: usize = 1 << 18;

/// Errors (naming `plot`) when a figure would draw more than [`MAX_POINTS`] points.
pub(crate) fn check_points(plot: &'static str, points: usize) -> Result<()> {
    if points > MAX_POINTS {
        let message = format!("{points} points are more than {MAX_POINTS}; plot every k-th value (e.g. `step_by(k)`) or a shorter range");
        return Err(PlotError::Data { plot, message });
    }
    Ok(())
}

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
        Series {
            label: label.into(),
            y,
        }
    }
}

/// One line of a [`Curves`] panel: `(x, y)` points in one colour, solid or dashed.
pub(crate) struct Line {
    pub(crate) label: String,
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) colour: RGBColor,
    pub(crate) dashed: bool,
}

/// A panel of lines with a title, axis labels and a legend: [`plot_curves`] draws one,
/// `plot_training_curves` two side by side.
pub(crate) struct Curves<'a> {
    pub(crate) lines: Vec<Line>,
    pub(crate) title: &'a str,
    pub(crate) xlabel: &'a str,
    pub(crate) ylabel: &'a str,
    /// Label only integer x positions (epochs, steps).
    pub(crate) int_x: bool,
    pub(crate) legend: SeriesLabelPosition,
}

impl Curves<'_> {
    /// Draws the panel on `area`, naming `plot` in errors.
    pub(crate) fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        plot: &'static str,
    ) -> Result<()> {
        let e = draw_err(plot);
        let points = || self.lines.iter().flat_map(|l| l.points.iter());
        let (x0, x1) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| {
            (a.min(x), b.max(x))
        });
        let (y0, y1) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(_, y)| {
            (a.min(y), b.max(y))
        });
        let pad = ((y1 - y0) * 0.06).max(1e-3);
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0 - pad..y1 + pad)
            .map_err(&e)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.xlabel)
            .y_desc(self.ylabel)
            .label_style((FAMILY, 14));
        if self.int_x {
            mesh.x_label_formatter(&int_label);
        }
        mesh.draw().map_err(&e)?;
        for line in &self.lines {
            let style = line.colour.stroke_width(2);
            let drawn = if line.dashed {
                chart.draw_series(DashedLineSeries::new(
                    line.points.iter().copied(),
                    8,
                    5,
                    style,
                ))
            } else {
                chart.draw_series(LineSeries::new(line.points.iter().copied(), style))
            };
            let dashed = line.dashed;
            drawn
                .map_err(&e)?
                .label(line.label.as_str())
                .legend(move |(x, y)| {
                    // Two segments either way (one element type): with a gap when dashed.
                    let gap = if dashed { 4 } else { 0 };
                    EmptyElement::at((x, y))
                        + PathElement::new([(0, 0), (7, 0)], style)
                        + PathElement::new([(7 + gap, 0), (18, 0)], style)
                });
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(self.legend.clone())
            .draw()
            .map_err(&e)?;
        Ok(())
    }
}

impl Draw for Curves<'_> {
    const PLOT: &'static str = "plot_curves";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        self.draw_panel(area, Self::PLOT)?;
        Ok(None)
    }
}

/// Several labelled curves over the same `x` (e.g. a surrogate's Heaviside, primitive and
/// gradient; train and test accuracy per epoch). Each series must have one y per x, and all
/// together at most [`MAX_POINTS`] points.
pub fn plot_curves(
    x: &[f32],
    series: &[Series],
    title: &str,
    xlabel: &str,
    ylabel: &str,
) -> Result<Figure> {
    let plot = "plot_curves";
    if x.is_empty() || series.is_empty() {
        return Err(PlotError::Data {
            plot,
            message: "need at least one x value and one series".into(),
        });
    }
    check_points(plot, x.len().saturating_mul(series.len()))?;
    if let Some(s) = series.iter().find(|s| s.y.len() != x.len()) {
        return Err(PlotError::Data {
            plot,
            message: format!(
                "series '{}' has {} values for {} x values",
                s.label,
                s.y.len(),
                x.len()
            ),
        });
    }
    if x.iter()
        .chain(series.iter().flat_map(|s| &s.y))
        .any(|v| !v.is_finite())
    {
        return Err(PlotError::Data {
            plot,
            message: "non-finite values".into(),
        });
    }
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, s)| Line {
            label: s.label.clone(),
            points: x
                .iter()
                .zip(&s.y)
                .map(|(&x, &y)| (x as f64, y as f64))
                .collect(),
            colour: TAB10[i % TAB10.len()],
            dashed: false,
        })
        .collect();
    let curves = Curves {
        lines,
        title,
        xlabel,
        ylabel,
        int_x: false,
        legend: SeriesLabelPosition::UpperLeft,
    };
    Figure::render(title, 760, 440, &curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_series_and_errors() {
        let x = [0.0f32, 1.0, 2.0];
        let one = plot_curves(&x, &[Series::new("a", vec![0.0, 1.0, 0.5])], "c", "x", "y").unwrap();
        let two = plot_curves(
            &x,
            &[
                Series::new("a", vec![0.0, 1.0, 0.5]),
                Series::new("b", vec![1.0, 0.0, 0.2]),
            ],
            "c",
            "x",
            "y",
        )
        .unwrap();
        // Each series adds its polyline and its legend sample (two segments).
        assert_eq!(
            two.svg().matches("<polyline").count(),
            one.svg().matches("<polyline").count() + 3
        );
        assert!(
            two.svg().contains("\nb\n</text>"),
            "legend label b is drawn"
        );
        assert!(plot_curves(&x, &[Series::new("a", vec![0.0])], "c", "x", "y").is_err());
        assert!(plot_curves(&[], &[], "c", "x", "y").is_err());
    }
}
