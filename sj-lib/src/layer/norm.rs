//! `layer.BatchNorm1d/2d/3d` and `layer.GroupNorm` with a step mode (inventory §2.4.2), and tdBN,
//! `layer.ThresholdDependentBatchNorm1d/2d/3d` (§2.4.3). In step mode `m` the statistics are those
//! of the whole `T·N` batch (`seq_to_ann_forward`).
use super::conv::forward_nd;
use crate::base::{buffer, variable, Module, NamedTensor, StepMode};
use crate::error::op_error;
use crate::error::{Result, SjError};
use std::ops::RangeInclusive;
use tch::{nn, Kind, Tensor};

/// Formats a float as Python's `repr` does (`1e-05`, `0.1`).
fn py_float(x: f64) -> String {
    let s = format!("{x:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// The keyword arguments of PyTorch's `BatchNorm*d`, with PyTorch's defaults.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormOptions {
    eps: f64,
    momentum: Option<f64>,
    affine: bool,
    track_running_stats: bool,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            track_running_stats: true,
        }
    }
}

impl BatchNormOptions {
    /// `eps=1e-05, momentum=0.1, affine=True, track_running_stats=True`.
    pub fn new() -> Self {
        Self::default()
    }
    /// `eps=`.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// `momentum=`; `None` keeps a cumulative average of the batch statistics.
    pub fn with_momentum(mut self, momentum: Option<f64>) -> Self {
        self.momentum = momentum;
        self
    }
    /// `affine=` (learnable `weight` and `bias`).
    pub fn with_affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }
    /// `track_running_stats=` (buffers `running_mean`, `running_var`, `num_batches_tracked`).
    pub fn with_track_running_stats(mut self, track_running_stats: bool) -> Self {
        self.track_running_stats = track_running_stats;
        self
    }
}

/// `D`-dimensional batch normalisation with PyTorch's parameters and buffers (`weight`, `bias`,
/// `running_mean`, `running_var`, `num_batches_tracked`); use the aliases [`BatchNorm1d`],
/// [`BatchNorm2d`], [`BatchNorm3d`]. Starts in training mode, like a PyTorch module; switch with
/// `functional::set_training`.
#[derive(Debug)]
pub struct BatchNormNd<const D: usize> {
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    running_mean: Option<Tensor>,
    running_var: Option<Tensor>,
    num_batches_tracked: Option<Tensor>,
    num_features: i64,
    options: BatchNormOptions,
    training: bool,
    step_mode: StepMode,
}

/// `layer.BatchNorm1d`: input `[N, C]` or `[N, C, L]` (`[T, N, C]` or `[T, N, C, L]` in step mode `m`).
pub type BatchNorm1d = BatchNormNd<1>;
/// `layer.BatchNorm2d`: input `[N, C, H, W]` (`[T, N, C, H, W]` in step mode `m`).
pub type BatchNorm2d = BatchNormNd<2>;
/// `layer.BatchNorm3d`: input `[N, C, D, H, W]` (`[T, N, C, D, H, W]` in step mode `m`).
pub type BatchNorm3d = BatchNormNd<3>;

impl<const D: usize> BatchNormNd<D> {
    const NAME: &'static str = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"][D - 1];
    /// The numbers of spatial dimensions accepted after `[N, C`.
    const SPATIAL: RangeInclusive<usize> = if D == 1 { 0..=1 } else { D..=D };

    /// `BatchNorm2d(num_features)` with PyTorch's defaults (weight 1, bias 0, running mean 0 and
    /// variance 1).
    pub fn new(path: &nn::Path, num_features: i64) -> Result<Self> {
        Self::new_with(path, num_features, BatchNormOptions::default())
    }

    /// The layer with the given keyword arguments.
    pub fn new_with(path: &nn::Path, num_features: i64, options: BatchNormOptions) -> Result<Self> {
        Self::create(Self::NAME, path, num_features, options, 1.0)
    }

    /// Creates the parameters and buffers, with `weight` filled with `weight_init`.
    fn create(
        name: &str,
        path: &nn::Path,
        num_features: i64,
        options: BatchNormOptions,
        weight_init: f64,
    ) -> Result<Self> {
        if num_features <= 0 {
            return Err(SjError::config(
                name,
                format!("num_features must be positive, got {num_features}"),
            ));
        }
        let c = [num_features];
        let (weight, bias) = if options.affine {
            (
                Some(variable(
                    name,
                    path,
                    "weight",
                    &c,
                    nn::Init::Const(weight_init),
                )?),
                Some(variable(name, path, "bias", &c, nn::Init::Const(0.0))?),
            )
        } else {
            (None, None)
        };
        let float = (path.kind(), path.device());
        let (running_mean, running_var, num_batches_tracked) = if options.track_running_stats {
            (
                Some(buffer(
                    name,
                    path,
                    "running_mean",
                    Tensor::f_zeros(c, float)?,
                )?),
                Some(buffer(
                    name,
                    path,
                    "running_var",
                    Tensor::f_ones(c, float)?,
                )?),
                Some(buffer(
                    name,
                    path,
                    "num_batches_tracked",
                    Tensor::f_zeros([], (Kind::Int64, path.device()))?,
                )?),
            )
        } else {
            (None, None, None)
        };
        Ok(BatchNormNd {
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
            num_features,
            options,
            training: true,
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The scale `γ` (`[C]`), when affine.
    pub fn weight(&self) -> Option<&Tensor> {
        self.weight.as_ref()
    }

    /// `eps` added to the variance.
    pub fn eps(&self) -> f64 {
        self.options.eps
    }

    /// The shift `β` (`[C]`), when affine.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The running mean (`[C]`), when tracking running statistics.
    pub fn running_mean(&self) -> Option<&Tensor> {
        self.running_mean.as_ref()
    }

    /// The running (unbiased) variance (`[C]`), when tracking running statistics.
    pub fn running_var(&self) -> Option<&Tensor> {
        self.running_var.as_ref()
    }

    /// Checks the layout and normalises, naming `module` in errors.
    fn normalize(&self, module: &'static str, step_mode: StepMode, x: &Tensor) -> Result<Tensor> {
        forward_nd(
            module,
            step_mode,
            x,
            Self::SPATIAL,
            Some(self.num_features),
            |x| self.batch_norm(module, x),
        )
    }

    /// PyTorch's `_BatchNorm.forward` on one `[B, C, *]` batch.
    fn batch_norm(&self, module: &'static str, x: &Tensor) -> Result<Tensor> {
        let o = &self.options;
        let size = x.size();
        // PyTorch's `_verify_batch_size`: the unbiased variance of one value is NaN, which would
        // be written into `running_var`.
        if self.training && size.len() >= 2 && size[0] * size[2..].iter().product::<i64>() == 1 {
            return Err(SjError::Shape {
                module: module.into(),
                expected:
                    "more than 1 value per channel when training (a batch of 2 or more, or call \
                     functional::set_training(&mut net, false) for inference on one sample)"
                        .into(),
                got: size,
            });
        }
        let tracked = self.num_batches_tracked.as_ref().filter(|_| self.training);
        let mut momentum = o.momentum.unwrap_or(0.0);
        if let (Some(count), None) = (tracked, o.momentum) {
            momentum = 1.0 / (count.int64_value(&[]) + 1) as f64;
        }
        let batch_stats = self.training || self.running_mean.is_none();
        let y = x
            .f_batch_norm(
                self.weight.as_ref(),
                self.bias.as_ref(),
                self.running_mean.as_ref(),
                self.running_var.as_ref(),
                batch_stats,
                momentum,
                o.eps,
                true,
            )
            .map_err(op_error(module))?;
        // Counted only once the batch went through, so a failing forward changes nothing.
        if let Some(count) = tracked {
            let _ = count.shallow_clone().f_add_scalar_(1)?;
        }
        Ok(y)
    }

    fn repr(&self, step_mode: StepMode) -> String {
        let o = &self.options;
        format!(
            "{}, eps={}, momentum={}, affine={}, track_running_stats={}, step_mode={step_mode}",
            self.num_features,
            py_float(o.eps),
            o.momentum.map_or("None".to_string(), py_float),
            py_bool(o.affine),
            py_bool(o.track_running_stats)
        )
    }
}

impl<const D: usize> Module for BatchNormNd<D> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.normalize(Self::NAME, self.step_mode, x)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        let entries = [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ];
        entries
            .into_iter()
            .filter_map(|(name, t)| t.as_ref().map(|t| (name.to_string(), t.shallow_clone())))
            .collect()
    }
    fn extra_repr(&self) -> String {
        self.repr(self.step_mode)
    }
}

/// Threshold-dependent batch normalisation (tdBN, "Going Deeper With Directly-Trained Larger
/// SNNs"): a multi-step-only batch norm over `T·N` whose scale starts at `alpha·v_th`; use the
/// aliases [`ThresholdDependentBatchNorm1d`], [`ThresholdDependentBatchNorm2d`],
/// [`ThresholdDependentBatchNorm3d`].
#[derive(Debug)]
pub struct ThresholdDependentBatchNormNd<const D: usize> {
    bn: BatchNormNd<D>,
    alpha: f64,
    v_th: f64,
    step_mode: StepMode,
}

/// `layer.ThresholdDependentBatchNorm1d`: input `[T, N, C]` or `[T, N, C, L]`.
pub type ThresholdDependentBatchNorm1d = ThresholdDependentBatchNormNd<1>;
/// `layer.ThresholdDependentBatchNorm2d`: input `[T, N, C, H, W]`.
pub type ThresholdDependentBatchNorm2d = ThresholdDependentBatchNormNd<2>;
/// `layer.ThresholdDependentBatchNorm3d`: input `[T, N, C, D, H, W]`.
pub type ThresholdDependentBatchNorm3d = ThresholdDependentBatchNormNd<3>;

impl<const D: usize> ThresholdDependentBatchNormNd<D> {
    const NAME: &'static str = [
        "ThresholdDependentBatchNorm1d",
        "ThresholdDependentBatchNorm2d",
        "ThresholdDependentBatchNorm3d",
    ][D - 1];

    /// `ThresholdDependentBatchNorm2d(alpha, v_th, num_features)` with BatchNorm's defaults.
    pub fn new(path: &nn::Path, alpha: f64, v_th: f64, num_features: i64) -> Result<Self> {
        Self::new_with(path, alpha, v_th, num_features, BatchNormOptions::default())
    }

    /// tdBN with the given BatchNorm keyword arguments; `affine` must stay true.
    pub fn new_with(
        path: &nn::Path,
        alpha: f64,
        v_th: f64,
        num_features: i64,
        options: BatchNormOptions,
    ) -> Result<Self> {
        if !options.affine {
            return Err(SjError::config(
                Self::NAME,
                "ThresholdDependentBatchNorm needs affine=True",
            ));
        }
        let bn = BatchNormNd::create(Self::NAME, path, num_features, options, alpha * v_th)?;
        Ok(ThresholdDependentBatchNormNd {
            bn,
            alpha,
            v_th,
            step_mode: StepMode::M,
        })
    }

    /// The hyper-parameter `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The threshold `v_th` of the next spiking layer.
    pub fn v_th(&self) -> f64 {
        self.v_th
    }

    /// The batch norm inside (weight, bias, running statistics).
    pub fn batch_norm(&self) -> &BatchNormNd<D> {
        &self.bn
    }
}

impl<const D: usize> Module for ThresholdDependentBatchNormNd<D> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.bn.normalize(Self::NAME, StepMode::M, x)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        &[StepMode::M]
    }
    fn set_training(&mut self, training: bool) {
        self.bn.set_training(training);
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        self.bn.named_tensors()
    }
    fn extra_repr(&self) -> String {
        self.bn.repr(self.step_mode)
    }
}

/// `layer.GroupNorm`: normalises each sample over groups of channels; input `[N, C, *]`
/// (`[T, N, C, *]` in step mode `m`). Parameters `weight` (ones) and `bias` (zeros) when affine.
#[derive(Debug)]
pub struct GroupNorm {
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    num_groups: i64,
    num_channels: i64,
    eps: f64,
    step_mode: StepMode,
}

impl GroupNorm {
    /// `GroupNorm(num_groups, num_channels)` with `eps=1e-05, affine=True`.
    pub fn new(path: &nn::Path, num_groups: i64, num_channels: i64) -> Result<Self> {
        Self::new_with(path, num_groups, num_channels, 1e-5, true)
    }

    /// `GroupNorm(num_groups, num_channels, eps, affine)`; `num_channels` must be divisible by `num_groups`.
    pub fn new_with(
        path: &nn::Path,
        num_groups: i64,
        num_channels: i64,
        eps: f64,
        affine: bool,
    ) -> Result<Self> {
        if num_groups <= 0 || num_channels <= 0 || num_channels % num_groups != 0 {
            return Err(SjError::config(
                "GroupNorm",
                format!("num_channels ({num_channels}) must be a positive multiple of num_groups ({num_groups})"),
            ));
        }
        let c = [num_channels];
        let (weight, bias) = if affine {
            (
                Some(variable(
                    "GroupNorm",
                    path,
                    "weight",
                    &c,
                    nn::Init::Const(1.0),
                )?),
                Some(variable(
                    "GroupNorm",
                    path,
                    "bias",
                    &c,
                    nn::Init::Const(0.0),
                )?),
            )
        } else {
            (None, None)
        };
        Ok(GroupNorm {
            weight,
            bias,
            num_groups,
            num_channels,
            eps,
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }
}

impl Module for GroupNorm {
    fn type_name(&self) -> &'static str {
        "GroupNorm"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let (groups, eps) = (self.num_groups, self.eps);
        let (w, b) = (self.weight.as_ref(), self.bias.as_ref());
        forward_nd(
            "GroupNorm",
            self.step_mode,
            x,
            0..=usize::MAX,
            Some(self.num_channels),
            |x| {
                x.f_group_norm(groups, w, b, eps, true)
                    .map_err(op_error("GroupNorm"))
            },
        )
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        [("weight", &self.weight), ("bias", &self.bias)]
            .into_iter()
            .filter_map(|(name, t)| t.as_ref().map(|t| (name.to_string(), t.shallow_clone())))
            .collect()
    }
    fn extra_repr(&self) -> String {
        format!(
            "{}, {}, eps={}, affine={}, step_mode={}",
            self.num_groups,
            self.num_channels,
            py_float(self.eps),
            py_bool(self.weight.is_some()),
            self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn opts() -> (Kind, Device) {
        (Kind::Float, Device::Cpu)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn multi_step_statistics_are_over_t_times_n() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut bn = BatchNorm2d::new(&vs.root(), 3)
            .unwrap()
            .with_step_mode(StepMode::M);
        tch::manual_seed(5);
        let x = Tensor::rand([4, 2, 3, 5, 5], opts()) * 3.0 + 1.0;
        let y = bn.forward(&x).unwrap();
        let flat = x.flatten(0, 1);
        let expected = flat.batch_norm(
            None::<Tensor>,
            None::<Tensor>,
            None::<Tensor>,
            None::<Tensor>,
            true,
            0.1,
            1e-5,
            false,
        );
        assert_eq!(max_diff(&y, &expected.view([4, 2, 3, 5, 5])), 0.0);
        // per channel, the output over all T·N·H·W entries has mean 0 and (biased) variance 1
        let mean = y.mean_dim(&[0i64, 1, 3, 4][..], false, Kind::Float);
        assert!(mean.abs().max().double_value(&[]) < 1e-5);
        let var = y.var_dim(&[0i64, 1, 3, 4][..], false, false);
        assert!((var - 1.0).abs().max().double_value(&[]) < 1e-3);
        // a per-step normalisation would give something else
        let per_step: Vec<Tensor> = (0..4)
            .map(|t| {
                x.get(t).batch_norm(
                    None::<Tensor>,
                    None::<Tensor>,
                    None::<Tensor>,
                    None::<Tensor>,
                    true,
                    0.1,
                    1e-5,
                    false,
                )
            })
            .collect();
        assert!(max_diff(&y, &Tensor::stack(&per_step, 0)) > 1e-3);
        // running statistics: 0.9·init + 0.1·batch (unbiased variance) over the T·N batch
        let batch_mean = flat.mean_dim(&[0i64, 2, 3][..], false, Kind::Float);
        let batch_var = flat.var_dim(&[0i64, 2, 3][..], true, false);
        assert!(max_diff(bn.running_mean().unwrap(), &(&batch_mean * 0.1)) < 1e-6);
        assert!(max_diff(bn.running_var().unwrap(), &(batch_var * 0.1 + 0.9)) < 1e-6);
        let nbt = bn
            .named_tensors()
            .into_iter()
            .find(|(k, _)| k == "num_batches_tracked")
            .unwrap()
            .1;
        assert_eq!(nbt.int64_value(&[]), 1);
    }

    #[test]
    fn eval_multi_step_equals_stacked_single_steps_exactly() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        tch::manual_seed(6);
        let x = Tensor::rand([3, 2, 4, 3, 3], opts());
        let mut layers: Vec<(Box<dyn Module>, Tensor)> = vec![
            (
                Box::new(BatchNorm2d::new(&(&p / "a"), 4).unwrap()),
                x.shallow_clone(),
            ),
            (
                Box::new(BatchNorm1d::new(&(&p / "b"), 4).unwrap()),
                x.flatten(3, 4),
            ),
            (
                Box::new(BatchNorm1d::new(&(&p / "c"), 4).unwrap()),
                x.mean_dim(&[3i64, 4][..], false, Kind::Float),
            ),
            (
                Box::new(BatchNorm3d::new(&(&p / "d"), 4).unwrap()),
                x.unsqueeze(3),
            ),
            (
                Box::new(GroupNorm::new(&(&p / "e"), 2, 4).unwrap()),
                x.shallow_clone(),
            ),
        ];
        for (layer, x) in layers.iter_mut() {
            layer.set_step_mode(StepMode::M).unwrap();
            let _ = layer.forward(x).unwrap(); // one training step moves the running statistics off their init
            layer.set_training(false);
            let y_m = layer.forward(x).unwrap();
            layer.set_step_mode(StepMode::S).unwrap();
            let y_s = Tensor::stack(
                &(0..3)
                    .map(|t| layer.forward(&x.get(t)).unwrap())
                    .collect::<Vec<_>>(),
                0,
            );
            assert_eq!(y_m.size(), x.size(), "{}", layer.type_name());
            assert_eq!(max_diff(&y_m, &y_s), 0.0, "{}", layer.type_name());
        }
    }

    #[test]
    fn cumulative_average_without_momentum() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut bn =
            BatchNorm1d::new_with(&vs.root(), 1, BatchNormOptions::new().with_momentum(None))
                .unwrap();
        let _ = bn
            .forward(&Tensor::from_slice(&[1.0f32, 3.0]).view([2, 1]))
            .unwrap();
        let _ = bn
            .forward(&Tensor::from_slice(&[5.0f32, 7.0]).view([2, 1]))
            .unwrap();
        // batch means 2 and 6 average to 4; unbiased variances 2 and 2 average to 2
        assert_eq!(bn.running_mean().unwrap().double_value(&[0]), 4.0);
        assert_eq!(bn.running_var().unwrap().double_value(&[0]), 2.0);
        assert_eq!(
            bn.extra_repr(),
            "1, eps=1e-05, momentum=None, affine=True, track_running_stats=True, step_mode=s"
        );
        // without running statistics, eval mode still normalises with the batch: [-1, 1]
        let vs = nn::VarStore::new(Device::Cpu);
        let mut plain = BatchNorm1d::new_with(
            &vs.root(),
            1,
            BatchNormOptions::new()
                .with_track_running_stats(false)
                .with_eps(0.0),
        )
        .unwrap();
        plain.set_training(false);
        let y = plain
            .forward(&Tensor::from_slice(&[1.0f32, 3.0]).view([2, 1]))
            .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap(),
            [-1.0, 1.0]
        );
        assert_eq!(plain.named_tensors().len(), 2);
    }

    #[test]
    fn names_reprs_and_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut bn = BatchNorm2d::new(&(vs.root() / "bn"), 8).unwrap();
        let names: Vec<String> = bn.named_tensors().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "weight",
                "bias",
                "running_mean",
                "running_var",
                "num_batches_tracked"
            ]
        );
        let mut stored: Vec<String> = vs.variables().into_keys().collect();
        stored.sort();
        assert_eq!(
            stored,
            [
                "bn.bias",
                "bn.num_batches_tracked",
                "bn.running_mean",
                "bn.running_var",
                "bn.weight"
            ]
        );
        assert_eq!(vs.trainable_variables().len(), 2);
        assert_eq!(
            Vec::<f32>::try_from(bn.weight().unwrap()).unwrap(),
            [1.0; 8]
        );
        assert_eq!(
            bn.extra_repr(),
            "8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, step_mode=s"
        );
        bn.set_step_mode(StepMode::M).unwrap();
        let err = bn
            .forward(&Tensor::zeros([2, 8, 4, 4], opts()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BatchNorm2d")
                && err.contains("[T, N, C, H, W]")
                && err.contains("[2, 8, 4, 4]"),
            "{err}"
        );
        let err = bn
            .forward(&Tensor::zeros([2, 2, 3, 4, 4], opts()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("BatchNorm2d") && err.contains("C = 8"),
            "{err}"
        );
        let mut bn1 = BatchNorm1d::new(&vs.root(), 2).unwrap();
        let err = bn1
            .forward(&Tensor::zeros([2, 2, 3, 3], opts()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("[N, C] or [N, C, L]"), "{err}");
        let err = GroupNorm::new(&nn::VarStore::new(Device::Cpu).root(), 3, 8)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GroupNorm") && err.contains("multiple"),
            "{err}"
        );
        assert_eq!(
            GroupNorm::new(&nn::VarStore::new(Device::Cpu).root(), 2, 8)
                .unwrap()
                .extra_repr(),
            "2, 8, eps=1e-05, affine=True, step_mode=s"
        );
        assert_eq!(py_float(1e20), "1e+20");
    }

    #[test]
    fn group_norm_hand_computed() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut gn = GroupNorm::new_with(&vs.root(), 1, 2, 0.0, true).unwrap();
        // one group over [1, 2, 3, 4]: mean 2.5, variance 1.25
        let y = gn
            .forward(&Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([1, 2, 2]))
            .unwrap();
        let got = Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap();
        let sd = 1.25f32.sqrt();
        for (g, x) in got.iter().zip([1.0f32, 2.0, 3.0, 4.0]) {
            assert!((g - (x - 2.5) / sd).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn tdbn_weight_starts_at_alpha_times_v_th() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut td = ThresholdDependentBatchNorm2d::new(&vs.root(), 1.5, 0.4, 3).unwrap();
        let bn = td.batch_norm();
        assert_eq!(
            Vec::<f32>::try_from(bn.weight().unwrap()).unwrap(),
            [(1.5f64 * 0.4) as f32; 3]
        );
        assert_eq!(Vec::<f32>::try_from(bn.bias().unwrap()).unwrap(), [0.0; 3]);
        assert_eq!((td.alpha(), td.v_th()), (1.5, 0.4));
        assert_eq!(td.step_mode(), StepMode::M);
        let err = td.set_step_mode(StepMode::S).unwrap_err().to_string();
        assert!(err.contains("ThresholdDependentBatchNorm2d"), "{err}");
        // output = α·v_th · (x − mean) / sd over T·N·H·W
        tch::manual_seed(7);
        let x = Tensor::rand([2, 2, 3, 2, 2], opts());
        let y = td.forward(&x).unwrap();
        let flat = x.flatten(0, 1);
        let w = Tensor::full([3], 0.6, opts());
        let expected = flat.batch_norm(
            Some(&w),
            None::<&Tensor>,
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.1,
            1e-5,
            false,
        );
        assert!(max_diff(&y, &expected.view([2, 2, 3, 2, 2])) < 1e-6);
        let err = td.forward(&x.get(0)).unwrap_err().to_string();
        assert!(
            err.contains("ThresholdDependentBatchNorm2d") && err.contains("[T, N, C, H, W]"),
            "{err}"
        );
        let options = BatchNormOptions::new().with_affine(false);
        let err = ThresholdDependentBatchNorm1d::new_with(&vs.root(), 1.0, 1.0, 3, options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("affine=True"), "{err}");
        assert_eq!(
            td.extra_repr(),
            "3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, step_mode=m"
        );
    }
}
