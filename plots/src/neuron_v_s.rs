//! `visualizing.plot_one_neuron_v_s`: one neuron's membrane potential over time and its spikes.
use crate::axis::int_label;
use crate::curves::check_points;
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::raster::Raster;
use plotters::coord::Shift;
use plotters::prelude::*;

struct NeuronVS<'a> {
    v: &'a [f32],
    s: &'a [f32],
    v_threshold: f64,
    v_reset: Option<f64>,
    title: &'a str,
}

impl Draw for NeuronVS<'_> {
    const PLOT: &'static str = "plot_one_neuron_v_s";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let t = self.v.len() as f64;
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let (top, bottom) = area.split_vertically((area.dim_in_pixel().1 as f64 * 0.68) as u32);
        let mut lo = self
            .v
            .iter()
            .copied()
            .fold(f64::INFINITY, |a, b| a.min(b as f64));
        let mut hi = self
            .v
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, |a, b| a.max(b as f64));
        lo = lo.min(self.v_reset.unwrap_or(lo)).min(self.v_threshold);
        hi = hi.max(self.v_threshold);
        let pad = ((hi - lo) * 0.08).max(1e-3);
        let mut chart = ChartBuilder::on(&top)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.5..t - 0.5, lo - pad..hi + pad)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_label_formatter(&int_label)
            .y_desc("V[t]")
            .label_style((FAMILY, 14))
            .draw()
            .map_err(&e)?;
        chart
            .draw_series(LineSeries::new(
                self.v
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v as f64)),
                BLUE.stroke_width(2),
            ))
            .map_err(&e)?
            .label("V[t]")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                [(-0.5, self.v_threshold), (t - 0.5, self.v_threshold)],
                6,
                4,
                RED.stroke_width(1),
            ))
            .map_err(&e)?
            .label(format!("V_threshold = {}", self.v_threshold))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
        if let Some(r) = self.v_reset {
            chart
                .draw_series(DashedLineSeries::new(
                    [(-0.5, r), (t - 0.5, r)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(&e)?
                .label(format!("V_reset = {r}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&e)?;
        let mut spikes = ChartBuilder::on(&bottom)
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.5..t - 0.5, 0.0..1.0)
            .map_err(&e)?;
        spikes
            .configure_mesh()
            .disable_y_mesh()
            .x_label_formatter(&int_label)
            .y_labels(2)
            .x_desc("simulating step")
            .y_desc("S[t]")
            .label_style((FAMILY, 14))
            .draw()
            .map_err(&e)?;
        spikes
            .draw_series(
                self.s
                    .iter()
                    .enumerate()
                    .filter(|(_, &s)| s != 0.0)
                    .map(|(i, _)| {
                        Rectangle::new(
                            [(i as f64 - 0.15, 0.0), (i as f64 + 0.15, 1.0)],
                            BLACK.filled(),
                        )
                    }),
            )
            .map_err(&e)?;
        Ok(None)
    }
}

/// `plot_one_neuron_v_s(v, s, v_threshold, v_reset, title)`: V\[t\] with the threshold and reset
/// lines on top, the spike train below. `v` and `s` are one neuron's values over T steps
/// (1 to [`crate::MAX_POINTS`]); `v_reset = None` (soft reset) draws no reset line. Errors on
/// non-finite values or levels.
pub fn plot_one_neuron_v_s(
    v: &[f32],
    s: &[f32],
    v_threshold: f64,
    v_reset: Option<f64>,
    title: &str,
) -> Result<Figure> {
    let plot = "plot_one_neuron_v_s";
    let data = |message: String| PlotError::Data { plot, message };
    if v.is_empty() || v.len() != s.len() {
        return Err(data(format!(
            "v has {} steps and s has {}; both must be equal and > 0",
            v.len(),
            s.len()
        )));
    }
    check_points(plot, v.len())?;
    if v.iter().chain(s).any(|x| !x.is_finite()) {
        return Err(data("v or s has non-finite values".into()));
    }
    if !v_threshold.is_finite() || v_reset.is_some_and(|r| !r.is_finite()) {
        return Err(data(format!(
            "v_threshold = {v_threshold} and v_reset = {v_reset:?} must be finite"
        )));
    }
    Figure::render(
        title,
        800,
        520,
        &NeuronVS {
            v,
            s,
            v_threshold,
            v_reset,
            title,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_bar_per_spike_and_rejects_bad_input() {
        let v = [0.0f32, 0.5, 0.0, 0.5, 0.0];
        let none = plot_one_neuron_v_s(&v, &[0.0; 5], 1.0, Some(0.0), "t").unwrap();
        let two = plot_one_neuron_v_s(&v, &[0.0, 0.0, 1.0, 0.0, 1.0], 1.0, Some(0.0), "t").unwrap();
        assert_eq!(none.size(), (800, 520));
        assert!(
            two.ink() > none.ink(),
            "spike bars add ink: {} vs {}",
            two.ink(),
            none.ink()
        );
        // Bars are black rectangles: the SVG of the spiking neuron has exactly two more filled rects.
        let rects = |f: &Figure| f.svg().matches("<rect").count();
        assert_eq!(rects(&two), rects(&none) + 2);
        assert!(plot_one_neuron_v_s(&[], &[], 1.0, None, "t").is_err());
        assert!(plot_one_neuron_v_s(&v, &[0.0; 4], 1.0, None, "t").is_err());
        assert!(plot_one_neuron_v_s(&[f32::NAN; 5], &[0.0; 5], 1.0, None, "t").is_err());
    }
}
