//! # sj-plots: SpikingJelly's `visualizing` figures on plotters
//!
//! Every plot returns a [`Figure`]: rendered once to pixels (PNG) and to SVG, shown inline in
//! evcxr when it is the last value of a cell (with a text digest of its pixels beside the image,
//! so notebook regression tests can compare images), and saved with [`Figure::save`]. Text uses the
//! embedded DejaVu Sans font, so no system font is needed.
mod axis;
mod curves;
mod error;
mod figure;
mod font;
mod grid;
mod heatmap;
mod neuron_v_s;
mod spikes;

pub use curves::{plot_curves, Series};
pub use error::{PlotError, Result};
pub use figure::{Figure, Svg};
pub use grid::Grid;
pub use heatmap::plot_2d_heatmap;
pub use neuron_v_s::plot_one_neuron_v_s;
pub use spikes::plot_1d_spikes;
