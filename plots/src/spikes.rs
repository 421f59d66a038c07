//! `visualizing.plot_1d_spikes`: a raster of `[T, N]` spikes with each neuron's firing rate.
use crate::axis::int_label;
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::grid::Grid;
use crate::raster::{Raster, MAX_VECTOR_CELLS};
use plotters::coord::Shift;
use plotters::prelude::*;

struct SpikeRaster<'a> {
    spikes: &'a Grid,
    title: &'a str,
    xlabel: &'a str,
    ylabel: &'a str,
    plot_firing_rate: bool,
}

impl Draw for SpikeRaster<'_> {
    const PLOT: &'static str = "plot_1d_spikes";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let (t, n) = (self.spikes.rows(), self.spikes.cols());
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let w = area.dim_in_pixel().0;
        let (left, right) = if self.plot_firing_rate {
            area.split_horizontally(w * 4 / 5)
        } else {
            (area.clone(), area.shrink((w, 0), (0, 0)))
        };
        let mut chart = ChartBuilder::on(&left)
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5..t as f64 - 0.5, -0.5..n as f64 - 0.5)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&int_label)
            .y_label_formatter(&int_label)
            .x_desc(self.xlabel)
            .y_desc(self.ylabel)
            .label_style((FAMILY, 14))
            .draw()
            .map_err(&e)?;
        let spiking = |s: usize, i: usize| self.spikes.at(s, i) != 0.0;
        let raster = if self.spikes.count(|v| v != 0.0) > MAX_VECTOR_CELLS {
            // One pixel per block of cells: black when any of them spiked.
            let pixels = chart.plotting_area().get_pixel_range();
            Some(Raster::cells(pixels, t, n, |steps, rows| {
                let any = steps
                    .flat_map(|s| (n - rows.end..n - rows.start).map(move |i| (s, i)))
                    .any(|(s, i)| spiking(s, i));
                if any {
                    BLACK
                } else {
                    WHITE
                }
            }))
        } else {
            let ticks =
                (0..n).flat_map(|i| (0..t).filter(move |&s| spiking(s, i)).map(move |s| (s, i)));
            chart
                .draw_series(ticks.map(|(s, i)| {
                    let (s, i) = (s as f64, i as f64);
                    Rectangle::new([(s - 0.35, i - 0.4), (s + 0.35, i + 0.4)], BLACK.filled())
                }))
                .map_err(&e)?;
            None
        };
        if self.plot_firing_rate {
            let rates: Vec<f64> = (0..n)
                .map(|i| self.spikes.column(i).iter().map(|&x| x as f64).sum::<f64>() / t as f64)
                .collect();
            let mut bar = ChartBuilder::on(&right)
                .margin(8)
                .x_label_area_size(32)
                .y_label_area_size(8)
                .build_cartesian_2d(0.0..1.0, -0.5..n as f64 - 0.5)
                .map_err(&e)?;
            bar.configure_mesh()
                .disable_mesh()
                .y_labels(0)
                .x_labels(3)
                .x_desc("firing rate")
                .label_style((FAMILY, 12))
                .draw()
                .map_err(&e)?;
            bar.draw_series(rates.iter().enumerate().map(|(i, &r)| {
                let i = i as f64;
                Rectangle::new(
                    [(0.0, i - 0.4), (r, i + 0.4)],
                    RGBColor(255, 0, 0).mix(r.clamp(0.15, 1.0)).filled(),
                )
            }))
            .map_err(&e)?;
        }
        Ok(raster)
    }
}

/// `plot_1d_spikes(spikes, title, xlabel, ylabel, plot_firing_rate)`: `spikes` is `[T, N]`
/// (rows are time steps, at most 4096 of each; any non-zero value is a spike). Each spike is a
/// black tick (more than [`MAX_VECTOR_CELLS`] spikes are drawn as one embedded image); with
/// `plot_firing_rate` a bar chart on the right shows each neuron's firing rate (the mean over T).
/// Errors on non-finite values.
pub fn plot_1d_spikes(
    spikes: &Grid,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    plot_firing_rate: bool,
) -> Result<Figure> {
    let plot = "plot_1d_spikes";
    if spikes.rows() > 4096 || spikes.cols() > 4096 {
        let message = format!("{} x {} is too large to draw as a raster (at most 4096 x 4096); select fewer steps or neurons", spikes.rows(), spikes.cols());
        return Err(PlotError::Data { plot, message });
    }
    spikes.finite_range(plot)?;
    Figure::render(
        title,
        860,
        420,
        &SpikeRaster {
            spikes,
            title,
            xlabel,
            ylabel,
            plot_firing_rate,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rect_per_spike_plus_one_bar_per_neuron() {
        let g = Grid::new(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2).unwrap(); // T=3, N=2; 4 spikes
        let with = plot_1d_spikes(&g, "r", "t", "neuron", true).unwrap();
        let without = plot_1d_spikes(&g, "r", "t", "neuron", false).unwrap();
        let rects = |f: &Figure| f.svg().matches("<rect").count();
        assert_eq!(rects(&with), rects(&without) + 2);
        let empty = Grid::new(vec![0.0; 6], 3, 2).unwrap();
        let blank = plot_1d_spikes(&empty, "r", "t", "neuron", false).unwrap();
        assert_eq!(rects(&without), rects(&blank) + 4);
        assert!(Grid::new(vec![1.0; 5], 3, 2).is_err());
        assert!(Grid::new(vec![], 0, 2).is_err());
    }
}
