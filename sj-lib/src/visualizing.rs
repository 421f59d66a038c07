//! `spikingjelly.visualizing` on tensors: converts to [`sj_plots::Grid`] and draws with sj-plots.
use crate::error::{Result, SjError};
use sj_plots::{Figure, Grid};
use tch::{Kind, Tensor};

fn floats(module: &str, t: &Tensor) -> Result<Vec<f32>> {
    Vec::<f32>::try_from(&t.detach().to_kind(Kind::Float).to_device(tch::Device::Cpu).flatten(0, -1))
        .map_err(|e| SjError::config(module, e))
}

/// A `[rows, cols]` tensor as a [`Grid`].
pub fn grid(t: &Tensor) -> Result<Grid> {
    if t.dim() != 2 {
        return Err(SjError::Shape { module: "visualizing".into(), expected: "[rows, cols]".into(), got: t.size() });
    }
    let (r, c) = (t.size()[0] as usize, t.size()[1] as usize);
    Ok(Grid::new(floats("visualizing", t)?, r, c)?)
}

/// `plot_one_neuron_v_s(v, s, v_threshold, v_reset, title)` for `[T]` tensors of one neuron.
pub fn plot_one_neuron_v_s(v: &Tensor, s: &Tensor, v_threshold: f64, v_reset: Option<f64>, title: &str) -> Result<Figure> {
    Ok(sj_plots::plot_one_neuron_v_s(&floats("plot_one_neuron_v_s", v)?, &floats("plot_one_neuron_v_s", s)?, v_threshold, v_reset, title)?)
}

/// `plot_1d_spikes(spikes, title, xlabel, ylabel, plot_firing_rate)` for `[T, N]` spikes.
pub fn plot_1d_spikes(spikes: &Tensor, title: &str, xlabel: &str, ylabel: &str, plot_firing_rate: bool) -> Result<Figure> {
    Ok(sj_plots::plot_1d_spikes(&grid(spikes)?, title, xlabel, ylabel, plot_firing_rate)?)
}

/// `plot_2d_heatmap(array, title, xlabel, ylabel)` for a `[T, N]` tensor (e.g. membrane potentials).
pub fn plot_2d_heatmap(array: &Tensor, title: &str, xlabel: &str, ylabel: &str) -> Result<Figure> {
    Ok(sj_plots::plot_2d_heatmap(&grid(array)?, title, xlabel, ylabel)?)
}
