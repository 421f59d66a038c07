//! `visualizing.plot_2d_heatmap`: a `[T, N]` array as a colour map (x = step, y = neuron).
use crate::axis::int_label;
use crate::colour::{draw_colour_bar, viridis};
use crate::error::{draw_err, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::grid::Grid;
use crate::raster::{block_mean, Raster, MAX_VECTOR_CELLS};
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

impl Draw for Heatmap<'_> {
    const PLOT: &'static str = "plot_2d_heatmap";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
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
        let span = (self.hi - self.lo).max(f64::MIN_POSITIVE);
        let raster = if t * n > MAX_VECTOR_CELLS {
            // Pixel columns are steps, pixel rows neurons from the top (n - 1) down; each pixel
            // shows the mean of the cells it covers.
            let pixels = chart.plotting_area().get_pixel_range();
            Some(Raster::cells(pixels, t, n, |steps, rows| {
                let v = block_mean(steps, n - rows.end..n - rows.start, |s, i| {
                    self.array.at(s, i) as f64
                });
                viridis((v - self.lo) / span)
            }))
        } else {
            chart
                .draw_series(
                    (0..t)
                        .flat_map(|s| (0..n).map(move |i| (s, i)))
                        .map(|(s, i)| {
                            let v = (self.array.at(s, i) as f64 - self.lo) / span;
                            let (x, y) = (s as f64, i as f64);
                            Rectangle::new(
                                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                                viridis(v).filled(),
                            )
                        }),
                )
                .map_err(&e)?;
            None
        };
        draw_colour_bar(&bar, self.lo, self.hi, Self::PLOT)?;
        Ok(raster)
    }
}

/// `plot_2d_heatmap(array, title, xlabel, ylabel)`: `array` is `[T, N]` (rows are time steps); the
/// colour scale spans the data's min to max and is drawn on the right. Arrays of more than
/// [`MAX_VECTOR_CELLS`] cells are drawn as one image (each pixel the mean of the cells it covers),
/// embedded in the SVG, so that the figure stays small.
pub fn plot_2d_heatmap(array: &Grid, title: &str, xlabel: &str, ylabel: &str) -> Result<Figure> {
    let (lo, hi) = array.finite_range("plot_2d_heatmap")?;
    Figure::render(
        title,
        820,
        440,
        &Heatmap {
            array,
            title,
            xlabel,
            ylabel,
            lo,
            hi,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_max_colours_drawn_and_bad_input_is_rejected() {
        // 2 steps x 1 neuron: step 0 is the minimum (dark), step 1 the maximum (yellow).
        let g = Grid::new(vec![0.0, 1.0], 2, 1).unwrap();
        let f = plot_2d_heatmap(&g, "h", "t", "n").unwrap();
        let svg = f.svg();
        assert!(
            svg.contains("#440154") && svg.contains("#FDE725"),
            "min and max colours are drawn"
        );
        assert!(plot_2d_heatmap(
            &Grid::new(vec![f32::NAN, 1.0], 2, 1).unwrap(),
            "h",
            "t",
            "n"
        )
        .is_err());
    }
}
