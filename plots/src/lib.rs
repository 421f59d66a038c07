//! # sj-plots: SpikingJelly's `visualizing` figures on plotters
//!
//! Every plot returns a [`Figure`]: rendered once to pixels (PNG) and to SVG, shown inline in
//! evcxr when it is the last value of a cell (with a text digest of its pixels beside the image,
//! so notebook regression tests can compare images), and saved with [`Figure::save`]. Text uses the
//! embedded DejaVu Sans font, so no system font is needed.
mod animation;
mod axis;
mod bar3d;
mod colour;
mod confusion;
mod curves;
mod error;
mod feature_map;
mod figure;
mod font;
mod grid;
mod heatmap;
mod neuron_v_s;
mod raster;
mod spikes;
mod training;

pub use bar3d::{plot_2d_bar_in_3d, MAX_BARS};
pub use confusion::{confusion_matrix, plot_confusion_matrix, MAX_CLASSES};
pub use curves::{plot_curves, Series, MAX_POINTS};
pub use error::{PlotError, Result};
pub use feature_map::plot_2d_feature_map;
pub use figure::{Figure, Svg};
pub use grid::Grid;
pub use heatmap::plot_2d_heatmap;
pub use neuron_v_s::plot_one_neuron_v_s;
pub use raster::{MAX_CELLS, MAX_VECTOR_CELLS};
pub use spikes::plot_1d_spikes;
pub use training::{plot_training_curves, Run};
mod frames;
pub use animation::Animation;
pub use frames::{play_frame, play_frame_gif};
