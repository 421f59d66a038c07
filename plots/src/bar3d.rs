//! `visualizing.plot_2d_bar_in_3d`: a `[T, N]` array as 3-D bars, one row of bars per time step.
use crate::axis::int_label;
use crate::colour::TAB10;
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::grid::Grid;
use crate::raster::Raster;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The most bars drawn: beyond this the figure is unreadable and slow to render.
pub const MAX_BARS: usize = 4096;

struct Bars3d<'a> {
    array: &'a Grid,
    title: &'a str,
    xlabel: &'a str,
    ylabel: &'a str,
    zlabel: &'a str,
    /// The value axis' range: the data's range widened to include 0.
    lo: f64,
    hi: f64,
}

impl Draw for Bars3d<'_> {
    const PLOT: &'static str = "plot_2d_bar_in_3d";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let (t, n) = (self.array.rows() as f64, self.array.cols() as f64);
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        // plotters' y axis is vertical: x = time step, y = value (SpikingJelly's z), z = neuron (its y).
        let mut chart = ChartBuilder::on(&area)
            .margin(24)
            .build_cartesian_3d(-0.5..t - 0.5, self.lo..self.hi, -0.5..n - 0.5)
            .map_err(&e)?;
        chart.with_projection(|mut p| {
            p.yaw = 0.7;
            p.pitch = 0.35;
            p.scale = 0.78;
            p.into_matrix()
        });
        chart
            .configure_axes()
            .label_style((FAMILY, 13))
            .x_formatter(&int_label)
            .z_formatter(&int_label)
            .max_light_lines(1)
            .draw()
            .map_err(&e)?;
        let name = |s: &str, at: (f64, f64, f64)| {
            Text::new(
                s.to_string(),
                at,
                TextStyle::from((FAMILY, 15)).pos(Pos::new(HPos::Center, VPos::Center)),
            )
        };
        let below = self.lo - 0.16 * (self.hi - self.lo);
        chart
            .draw_series([
                name(self.xlabel, ((t - 1.0) / 2.0, below, n - 0.5 + 0.14 * n)),
                name(self.ylabel, (t - 0.5 + 0.18 * t, below, (n - 1.0) / 2.0)),
                name(
                    self.zlabel,
                    (-0.5, self.hi + 0.1 * (self.hi - self.lo), n - 0.5),
                ),
            ])
            .map_err(&e)?;
        // plotters does not depth-sort across elements: draw the farthest bars first.
        let coord = chart.as_coord_spec();
        let mut bars: Vec<(i32, usize, usize)> = (0..self.array.rows())
            .flat_map(|s| (0..self.array.cols()).map(move |i| (s, i)))
            .filter(|&(s, i)| self.array.at(s, i) != 0.0)
            .map(|(s, i)| (coord.projected_depth(&(s as f64), &0.0, &(i as f64)), s, i))
            .collect();
        bars.sort_by_key(|&(depth, _, _)| std::cmp::Reverse(depth));
        chart
            .draw_series(bars.into_iter().map(|(_, s, i)| {
                let colour = TAB10[s % TAB10.len()];
                let (x, z, v) = (s as f64, i as f64, self.array.at(s, i) as f64);
                Cubiod::new(
                    [(x - 0.15, 0.0, z - 0.4), (x + 0.15, v, z + 0.4)],
                    colour.mix(0.8).filled(),
                    colour.stroke_width(1),
                )
            }))
            .map_err(&e)?;
        Ok(None)
    }
}

/// `plot_2d_bar_in_3d(array, title, xlabel, ylabel, zlabel)`: `array` is `[T, N]`; row `t` is a
/// row of N bars (height = value) at x = t in tab10 colour `t % 10` with alpha 0.8. `xlabel` names
/// the time axis, `ylabel` the neuron axis and `zlabel` the value axis, as in SpikingJelly. Zero
/// values draw no bar. At most [`MAX_BARS`] values (use `plot_2d_heatmap` for larger arrays).
pub fn plot_2d_bar_in_3d(
    array: &Grid,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    zlabel: &str,
) -> Result<Figure> {
    let (t, n) = (array.rows(), array.cols());
    if t * n > MAX_BARS {
        let message = format!(
            "{t} x {n} = {} bars are more than {MAX_BARS}; use plot_2d_heatmap",
            t * n
        );
        return Err(PlotError::Data {
            plot: "plot_2d_bar_in_3d",
            message,
        });
    }
    let (lo, hi) = array.finite_range("plot_2d_bar_in_3d")?;
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let hi = if hi > lo { hi } else { lo + 1.0 };
    Figure::render(
        title,
        860,
        640,
        &Bars3d {
            array,
            title,
            xlabel,
            ylabel,
            zlabel,
            lo,
            hi,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cuboid_per_nonzero_value_coloured_by_step() {
        // T = 2 steps x N = 3 neurons: step 0 has two non-zero values, step 1 one (negative).
        let g = Grid::new(vec![1.0, 0.0, 2.0, 0.0, 0.0, -3.0], 2, 3).unwrap();
        let f = plot_2d_bar_in_3d(&g, "bars", "step", "neuron", "rate").unwrap();
        let svg = f.svg();
        // Each bar is a cuboid: six faces filled with its step's tab10 colour (blue, then orange) at
        // SpikingJelly's alpha 0.8.
        assert_eq!(
            svg.matches(r##"<polygon opacity="0.8" fill="#1F77B4""##)
                .count(),
            2 * 6
        );
        assert_eq!(
            svg.matches(r##"<polygon opacity="0.8" fill="#FF7F0E""##)
                .count(),
            6
        );
        for label in ["step", "neuron", "rate", "bars"] {
            assert!(
                svg.contains(&format!(">\n{label}\n</text>")),
                "{label} is drawn"
            );
        }
        let zeros = plot_2d_bar_in_3d(
            &Grid::new(vec![0.0; 6], 2, 3).unwrap(),
            "bars",
            "step",
            "neuron",
            "rate",
        )
        .unwrap();
        // Axes and panels are grey; only bars add coloured pixels.
        let coloured = |f: &Figure| {
            let (w, h) = f.size();
            (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let [r, g, b] = f.pixel(x, y).unwrap();
                    r != g || g != b
                })
                .count()
        };
        assert_eq!(coloured(&zeros), 0);
        assert!(coloured(&f) > 5000, "{} coloured pixels", coloured(&f));
        assert!(plot_2d_bar_in_3d(
            &Grid::new(vec![f32::INFINITY; 6], 2, 3).unwrap(),
            "b",
            "x",
            "y",
            "z"
        )
        .is_err());
        assert!(plot_2d_bar_in_3d(
            &Grid::new(vec![1.0; 4097], 1, 4097).unwrap(),
            "b",
            "x",
            "y",
            "z"
        )
        .is_err());
    }
}
