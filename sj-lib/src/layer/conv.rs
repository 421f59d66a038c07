//! `layer.Conv1d/2d/3d` and `layer.ConvTranspose1d/2d/3d`: PyTorch's convolutions with a step mode
//! (inventory §2.4.2), and the `[N, C, *spatial]` checks every stateless layer of this kind shares.
use crate::base::{variable, Module, NamedTensor, StepMode};
use crate::error::op_error;
use crate::error::{Result, SjError};
use crate::functional::seq_to_ann_forward;
use std::ops::RangeInclusive;
use tch::nn::{self, PaddingMode};
use tch::Tensor;

/// A size given once for every dimension (`3`) or once per dimension (`[3, 5]`), like PyTorch's
/// `_size_2_t`.
pub trait IntoSize<const D: usize> {
    /// The per-dimension sizes.
    fn into_size(self) -> [i64; D];
}

impl<const D: usize> IntoSize<D> for i64 {
    fn into_size(self) -> [i64; D] {
        [self; D]
    }
}

impl<const D: usize> IntoSize<D> for [i64; D] {
    fn into_size(self) -> [i64; D] {
        self
    }
}

/// The names of the spatial dimensions after `[N, C`, by their number.
const SPATIAL_NAMES: [&str; 4] = ["", ", L", ", H, W", ", D, H, W"];

/// The layouts a layer accepts, e.g. `[T, N, C, H, W]`, or `[N, C, *]` for any number of dimensions.
fn layouts(step_mode: StepMode, spatial: &RangeInclusive<usize>) -> String {
    let lead = if step_mode == StepMode::M {
        "[T, N, C"
    } else {
        "[N, C"
    };
    if *spatial.end() >= SPATIAL_NAMES.len() {
        return format!("{lead}, *]");
    }
    spatial
        .clone()
        .map(|d| format!("{lead}{}]", SPATIAL_NAMES[d]))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks `x` against `[N, C, *spatial]` (`[T, N, C, *spatial]` in step mode `m`) with a number of
/// spatial dimensions in `spatial` and, when given, `C == channels`; then applies `f` to `x` (`'s'`)
/// or to the `[T·N, C, *spatial]` batch (`'m'`, `seq_to_ann_forward`). Errors name `module`.
pub(super) fn forward_nd(
    module: &'static str,
    step_mode: StepMode,
    x: &Tensor,
    spatial: RangeInclusive<usize>,
    channels: Option<i64>,
    f: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let lead = usize::from(step_mode == StepMode::M);
    let dims = x.dim();
    if dims < lead + 2 || !spatial.contains(&(dims - lead - 2)) {
        return Err(SjError::Shape {
            module: module.into(),
            expected: layouts(step_mode, &spatial),
            got: x.size(),
        });
    }
    if let Some(c) = channels {
        if x.size()[lead + 1] != c {
            let expected = format!("{} with C = {c}", layouts(step_mode, &spatial));
            return Err(SjError::Shape {
                module: module.into(),
                expected,
                got: x.size(),
            });
        }
    }
    match step_mode {
        StepMode::S => f(x),
        StepMode::M => seq_to_ann_forward(module, x, f),
    }
}

/// Formats sizes as a Python tuple: `(3, 3)`, `(3,)`.
pub(super) fn py_tuple(values: &[i64]) -> String {
    let items = values.iter().map(i64::to_string).collect::<Vec<_>>();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// The sliding-window arguments convolutions and poolings share (PyTorch's `stride=`,
/// `padding=`, `dilation=`): a plain struct with PyTorch's defaults, checked once by the layer
/// that takes it ([`ConvNd::new_with`], [`MaxPoolNd::new_with`](super::MaxPoolNd::new_with),
/// [`AvgPoolNd::new_with`](super::AvgPoolNd::new_with)). A convolution holds one inside its
/// [`ConvOptions`]; a pooling holds one directly.
///
/// ```
/// use sj::layer::{MaxPool2d, SpatialOptions};
/// let window = SpatialOptions::<2>::new().with_stride(1).with_padding(1);
/// let pool = MaxPool2d::new_with(3, window).unwrap();
/// assert!(MaxPool2d::new_with(3, window.with_padding(2)).is_err()); // more than half the kernel
/// # let _ = pool;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpatialOptions<const D: usize> {
    /// `stride=`; `None` is the layer's default: 1 for a convolution, the kernel size for a
    /// pooling (PyTorch's `stride=None`).
    pub stride: Option<[i64; D]>,
    /// `padding=`, per side: zeros for a convolution (unless its padding mode says otherwise),
    /// negative infinity for max pooling, zeros for average pooling.
    pub padding: [i64; D],
    /// `dilation=`, the spacing between kernel elements (1: none; average pooling has none).
    pub dilation: [i64; D],
}

impl<const D: usize> Default for SpatialOptions<D> {
    fn default() -> Self {
        SpatialOptions {
            stride: None,
            padding: [0; D],
            dilation: [1; D],
        }
    }
}

impl<const D: usize> SpatialOptions<D> {
    /// `stride=None, padding=0, dilation=1`.
    pub fn new() -> Self {
        Self::default()
    }
    /// `stride=`.
    pub fn with_stride(mut self, stride: impl IntoSize<D>) -> Self {
        self.stride = Some(stride.into_size());
        self
    }
    /// `padding=`.
    pub fn with_padding(mut self, padding: impl IntoSize<D>) -> Self {
        self.padding = padding.into_size();
        self
    }
    /// `dilation=`.
    pub fn with_dilation(mut self, dilation: impl IntoSize<D>) -> Self {
        self.dilation = dilation.into_size();
        self
    }

    /// The stride, `default` when none was given.
    pub fn stride_or(&self, default: [i64; D]) -> [i64; D] {
        self.stride.unwrap_or(default)
    }

    /// Checks the window for `module` with kernel `kernel_size`: kernel, stride and dilation
    /// positive, padding non-negative and, for a pooling, at most half the (dilated) kernel, as
    /// PyTorch requires.
    pub(super) fn check(&self, module: &str, kernel_size: &[i64; D], pooling: bool) -> Result<()> {
        let bad = |what: String| Err(SjError::config(module, what));
        let stride = self.stride_or([1; D]);
        if kernel_size
            .iter()
            .chain(&stride)
            .chain(&self.dilation)
            .any(|&v| v <= 0)
        {
            return bad("kernel_size, stride and dilation must be positive".into());
        }
        if self.padding.iter().any(|&v| v < 0) {
            return bad("padding must be non-negative".into());
        }
        if pooling {
            let too_big = (0..D).any(|i| {
                let effective = self.dilation[i] * (kernel_size[i] - 1) + 1;
                self.padding[i] > effective / 2
            });
            if too_big {
                return bad(format!(
                    "padding={} must be at most half the kernel size {} (its dilated extent)",
                    py_tuple(&self.padding),
                    py_tuple(kernel_size)
                ));
            }
        }
        Ok(())
    }
}

/// The keyword arguments of PyTorch's `Conv*d` / `ConvTranspose*d`, with PyTorch's defaults: a
/// plain struct with `Default`, checked once by [`ConvNd::new_with`].
#[derive(Clone, Copy, Debug)]
pub struct ConvOptions<const D: usize> {
    /// `stride=` (default 1), `padding=` (default 0), `dilation=` (default 1).
    pub spatial: SpatialOptions<D>,
    /// `output_padding=` (transposed convolutions only; default 0).
    pub output_padding: [i64; D],
    /// `groups=` (default 1).
    pub groups: i64,
    /// `bias=` (default true).
    pub bias: bool,
    /// `padding_mode=` (default `'zeros'`; convolutions only).
    pub padding_mode: PaddingMode,
}

impl<const D: usize> Default for ConvOptions<D> {
    fn default() -> Self {
        ConvOptions {
            spatial: SpatialOptions::default(),
            output_padding: [0; D],
            groups: 1,
            bias: true,
            padding_mode: PaddingMode::Zeros,
        }
    }
}

impl<const D: usize> ConvOptions<D> {
    /// `stride=1, padding=0, dilation=1, output_padding=0, groups=1, bias=True, padding_mode='zeros'`.
    pub fn new() -> Self {
        Self::default()
    }
    /// `stride=`.
    pub fn with_stride(mut self, stride: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_stride(stride);
        self
    }
    /// `padding=` (zero padding unless [`ConvOptions::with_padding_mode`] says otherwise).
    pub fn with_padding(mut self, padding: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_padding(padding);
        self
    }
    /// `dilation=`.
    pub fn with_dilation(mut self, dilation: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_dilation(dilation);
        self
    }
    /// `stride=`, `padding=` and `dilation=` at once.
    pub fn with_spatial(mut self, spatial: SpatialOptions<D>) -> Self {
        self.spatial = spatial;
        self
    }
    /// The stride (1 unless given).
    pub fn stride(&self) -> [i64; D] {
        self.spatial.stride_or([1; D])
    }
    /// `output_padding=` (transposed convolutions only).
    pub fn with_output_padding(mut self, output_padding: impl IntoSize<D>) -> Self {
        self.output_padding = output_padding.into_size();
        self
    }
    /// `groups=`.
    pub fn with_groups(mut self, groups: i64) -> Self {
        self.groups = groups;
        self
    }
    /// `bias=`.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// `padding_mode=` (`'zeros'`, `'reflect'`, `'replicate'`, `'circular'`; convolutions only).
    pub fn with_padding_mode(mut self, padding_mode: PaddingMode) -> Self {
        self.padding_mode = padding_mode;
        self
    }
}

/// A `D`-dimensional convolution (`TRANSPOSED = false`) or transposed convolution, with parameters
/// `weight` and `bias` under the given path as in a PyTorch `state_dict`. Use the aliases
/// [`Conv2d`], [`ConvTranspose2d`], ... (`D` outside 1..=3 does not compile).
#[derive(Debug)]
pub struct ConvNd<const D: usize, const TRANSPOSED: bool> {
    weight: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    kernel_size: [i64; D],
    options: ConvOptions<D>,
    step_mode: StepMode,
}

/// `layer.Conv1d`: input `[N, C, L]` (`[T, N, C, L]` in step mode `m`).
pub type Conv1d = ConvNd<1, false>;
/// `layer.Conv2d`: input `[N, C, H, W]` (`[T, N, C, H, W]` in step mode `m`).
pub type Conv2d = ConvNd<2, false>;
/// `layer.Conv3d`: input `[N, C, D, H, W]` (`[T, N, C, D, H, W]` in step mode `m`).
pub type Conv3d = ConvNd<3, false>;
/// `layer.ConvTranspose1d`: input `[N, C, L]` (`[T, N, C, L]` in step mode `m`).
pub type ConvTranspose1d = ConvNd<1, true>;
/// `layer.ConvTranspose2d`: input `[N, C, H, W]` (`[T, N, C, H, W]` in step mode `m`).
pub type ConvTranspose2d = ConvNd<2, true>;
/// `layer.ConvTranspose3d`: input `[N, C, D, H, W]` (`[T, N, C, D, H, W]` in step mode `m`).
pub type ConvTranspose3d = ConvNd<3, true>;

impl<const D: usize, const TRANSPOSED: bool> ConvNd<D, TRANSPOSED> {
    /// The SpikingJelly class name (only `D` in 1..=3 compiles).
    const NAME: &'static str = if TRANSPOSED {
        ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"][D - 1]
    } else {
        ["Conv1d", "Conv2d", "Conv3d"][D - 1]
    };

    /// `Conv2d(in_channels, out_channels, kernel_size)` with PyTorch's defaults (stride 1, no
    /// padding, bias) and initialisation (weight and bias `U(−1/√fan_in, 1/√fan_in)`).
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        kernel_size: impl IntoSize<D>,
    ) -> Result<Self> {
        Self::new_with(
            path,
            in_channels,
            out_channels,
            kernel_size,
            ConvOptions::default(),
        )
    }

    /// The layer with the given keyword arguments; errors (naming the layer) on a non-positive size,
    /// channels not divisible by `groups`, `output_padding` on a convolution, or a padding mode
    /// other than zeros on a transposed convolution.
    pub fn new_with(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        kernel_size: impl IntoSize<D>,
        options: ConvOptions<D>,
    ) -> Result<Self> {
        let kernel_size = kernel_size.into_size();
        let o = &options;
        let bad = |what: &str| Err(SjError::config(Self::NAME, what));
        if in_channels <= 0 || out_channels <= 0 || o.groups <= 0 {
            return bad("in_channels, out_channels and groups must be positive");
        }
        if in_channels % o.groups != 0 || out_channels % o.groups != 0 {
            return bad(&format!(
                "in_channels and out_channels must be divisible by groups={}",
                o.groups
            ));
        }
        o.spatial.check(Self::NAME, &kernel_size, false)?;
        if o.output_padding.iter().any(|&v| v < 0) {
            return bad("output_padding must be non-negative");
        }
        if TRANSPOSED && !matches!(o.padding_mode, PaddingMode::Zeros) {
            return bad("only the 'zeros' padding mode is supported for transposed convolutions");
        }
        if !TRANSPOSED && o.output_padding.iter().any(|&v| v != 0) {
            return bad("output_padding is an option of the transposed convolutions");
        }
        let (first, second) = if TRANSPOSED {
            (in_channels, out_channels)
        } else {
            (out_channels, in_channels)
        };
        let mut shape = vec![first, second / o.groups];
        shape.extend_from_slice(&kernel_size);
        let fan_in = shape[1..].iter().product::<i64>();
        let bound = 1.0 / (fan_in as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let weight = variable(Self::NAME, path, "weight", &shape, init)?;
        let bias = if o.bias {
            Some(variable(Self::NAME, path, "bias", &[out_channels], init)?)
        } else {
            None
        };
        Ok(ConvNd {
            weight,
            bias,
            in_channels,
            out_channels,
            kernel_size,
            options,
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The weight: `[out, in/groups, *kernel]`, or `[in, out/groups, *kernel]` when transposed.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias `[out_channels]`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// `in_channels`, `out_channels`, `kernel_size` and the keyword arguments it was built with.
    pub fn config(&self) -> (i64, i64, [i64; D], &ConvOptions<D>) {
        (
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            &self.options,
        )
    }

    /// The same layer (geometry, options, step mode) over new parameters, with a bias: what
    /// [`crate::functional::fuse_conv_bn_eval`] returns. `weight` must have this layer's shape.
    pub(crate) fn with_parameters(&self, weight: Tensor, bias: Tensor) -> Self {
        debug_assert_eq!(weight.size(), self.weight.size());
        ConvNd {
            weight,
            bias: Some(bias),
            options: self.options.with_bias(true),
            ..*self
        }
    }

    /// The convolution of one `[B, C, *spatial]` batch.
    fn convolve(&self, x: &Tensor) -> Result<Tensor> {
        let o = &self.options;
        let mode = match o.padding_mode {
            PaddingMode::Zeros => None,
            PaddingMode::Reflect => Some("reflect"),
            PaddingMode::Replicate => Some("replicate"),
            PaddingMode::Circular => Some("circular"),
        };
        let (x, padding) = match mode {
            None => (x.shallow_clone(), o.spatial.padding),
            Some(mode) => {
                // PyTorch's `_reversed_padding_repeated_twice`: last dimension first, both sides.
                let pad: Vec<i64> = o
                    .spatial
                    .padding
                    .iter()
                    .rev()
                    .flat_map(|&p| [p, p])
                    .collect();
                (
                    x.f_pad(pad.as_slice(), mode, None)
                        .map_err(op_error(Self::NAME))?,
                    [0; D],
                )
            }
        };
        x.f_convolution(
            &self.weight,
            self.bias.as_ref(),
            o.stride(),
            padding,
            o.spatial.dilation,
            TRANSPOSED,
            o.output_padding,
            o.groups,
        )
        .map_err(op_error(Self::NAME))
    }
}

impl<const D: usize, const TRANSPOSED: bool> Module for ConvNd<D, TRANSPOSED> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        forward_nd(
            Self::NAME,
            self.step_mode,
            x,
            D..=D,
            Some(self.in_channels),
            |x| self.convolve(x),
        )
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut v = vec![("weight".to_string(), self.weight.shallow_clone())];
        if let Some(b) = &self.bias {
            v.push(("bias".to_string(), b.shallow_clone()));
        }
        v
    }
    fn extra_repr(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "{}, {}, kernel_size={}, stride={}",
            self.in_channels,
            self.out_channels,
            py_tuple(&self.kernel_size),
            py_tuple(&o.stride())
        );
        if o.spatial.padding.iter().any(|&p| p != 0) {
            s += &format!(", padding={}", py_tuple(&o.spatial.padding));
        }
        if o.spatial.dilation.iter().any(|&d| d != 1) {
            s += &format!(", dilation={}", py_tuple(&o.spatial.dilation));
        }
        if o.output_padding.iter().any(|&p| p != 0) {
            s += &format!(", output_padding={}", py_tuple(&o.output_padding));
        }
        if o.groups != 1 {
            s += &format!(", groups={}", o.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        match o.padding_mode {
            PaddingMode::Zeros => {}
            mode => s += &format!(", padding_mode={}", format!("{mode:?}").to_lowercase()),
        }
        s + &format!(", step_mode={}", self.step_mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::repr;
    use crate::functional::{reset_net, set_step_mode};
    use crate::layer::{Flatten, Linear, MaxPool2d, Sequential};
    use crate::neuron::IFNode;
    use tch::{Device, Kind};

    fn opts() -> (Kind, Device) {
        (Kind::Float, Device::Cpu)
    }

    fn set(t: &Tensor, values: &Tensor) {
        let mut t = t.shallow_clone();
        tch::no_grad(|| t.copy_(values));
    }

    #[test]
    fn hand_computed_3x3_convolution() {
        // 1 channel, 4x4 input 0..15, all-ones 3x3 kernel, bias 0.5, padding 1.
        let vs = nn::VarStore::new(Device::Cpu);
        let mut conv =
            Conv2d::new_with(&vs.root(), 1, 1, 3, ConvOptions::new().with_padding(1)).unwrap();
        set(conv.weight(), &Tensor::ones([1, 1, 3, 3], opts()));
        set(conv.bias().unwrap(), &Tensor::from_slice(&[0.5f32]));
        let x = Tensor::arange(16, opts()).view([1, 1, 4, 4]);
        let y = conv.forward(&x).unwrap();
        assert_eq!(y.size(), [1, 1, 4, 4]);
        // centre (1,1): 0+1+2+4+5+6+8+9+10 = 45; corner (0,0): 0+1+4+5 = 10; (3,3): 10+11+14+15 = 50
        assert_eq!(y.double_value(&[0, 0, 1, 1]), 45.5);
        assert_eq!(y.double_value(&[0, 0, 0, 0]), 10.5);
        assert_eq!(y.double_value(&[0, 0, 3, 3]), 50.5);
        // reflect padding: (0,0) sees rows/cols [1,0,1] -> 5+4+5 + 1+0+1 + 5+4+5 = 30
        let vs = nn::VarStore::new(Device::Cpu);
        let options = ConvOptions::new()
            .with_padding(1)
            .with_bias(false)
            .with_padding_mode(PaddingMode::Reflect);
        let mut refl = Conv2d::new_with(&vs.root(), 1, 1, 3, options).unwrap();
        set(refl.weight(), &Tensor::ones([1, 1, 3, 3], opts()));
        assert_eq!(refl.forward(&x).unwrap().double_value(&[0, 0, 0, 0]), 30.0);
        assert_eq!(
            refl.extra_repr(),
            "1, 1, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False, padding_mode=reflect, step_mode=s"
        );
    }

    #[test]
    fn transposed_convolution_scatters_the_kernel() {
        // ConvTranspose1d(1, 1, 2, stride=2) with weight [1, 2]: each input value v becomes [v, 2v].
        let vs = nn::VarStore::new(Device::Cpu);
        let mut ct = ConvTranspose1d::new_with(
            &vs.root(),
            1,
            1,
            2,
            ConvOptions::new().with_stride(2).with_bias(false),
        )
        .unwrap();
        set(
            ct.weight(),
            &Tensor::from_slice(&[1.0f32, 2.0]).view([1, 1, 2]),
        );
        let y = ct
            .forward(&Tensor::from_slice(&[3.0f32, 5.0]).view([1, 1, 2]))
            .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&y.flatten(0, -1)).unwrap(),
            [3.0, 6.0, 5.0, 10.0]
        );
        assert_eq!(ct.weight().size(), [1, 1, 2]);
        assert_eq!(ct.type_name(), "ConvTranspose1d");
        let vs = nn::VarStore::new(Device::Cpu);
        let ct2 =
            ConvTranspose2d::new_with(&vs.root(), 4, 6, [3, 2], ConvOptions::new().with_groups(2))
                .unwrap();
        assert_eq!(ct2.weight().size(), [4, 3, 3, 2]);
    }

    #[test]
    fn multi_step_equals_stacked_single_steps_exactly() {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        tch::manual_seed(0);
        let x_seq = Tensor::rand([3, 2, 2, 6, 6], opts());
        let mut layers: Vec<Box<dyn Module>> = vec![
            Box::new(
                Conv2d::new_with(
                    &(&p / "a"),
                    2,
                    4,
                    3,
                    ConvOptions::new().with_stride(2).with_padding(1),
                )
                .unwrap(),
            ),
            Box::new(ConvTranspose2d::new(&(&p / "b"), 2, 3, [2, 3]).unwrap()),
            Box::new(Conv3d::new(&(&p / "c"), 1, 2, 2).unwrap()),
            Box::new(Conv1d::new(&(&p / "d"), 6, 2, 3).unwrap()),
            Box::new(ConvTranspose1d::new(&(&p / "e"), 6, 2, 3).unwrap()),
            Box::new(ConvTranspose3d::new(&(&p / "f"), 1, 2, 2).unwrap()),
        ];
        for (i, layer) in layers.iter_mut().enumerate() {
            // Conv3d/ConvTranspose3d read the 2 channels as depth; the 1d layers read [.., 6, 6] rows.
            let x = match i {
                2 | 5 => x_seq.unsqueeze(2),
                3 | 4 => x_seq.select(2, 0),
                _ => x_seq.shallow_clone(),
            };
            let y_s = Tensor::stack(
                &(0..3)
                    .map(|t| layer.forward(&x.get(t)).unwrap())
                    .collect::<Vec<_>>(),
                0,
            );
            layer.set_step_mode(StepMode::M).unwrap();
            let y_m = layer.forward(&x).unwrap();
            assert_eq!(y_m.size(), y_s.size(), "{}", layer.type_name());
            assert_eq!(
                (y_m - y_s).abs().max().double_value(&[]),
                0.0,
                "{}",
                layer.type_name()
            );
        }
    }

    #[test]
    fn bad_shapes_and_arguments_name_the_layer() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut conv = Conv2d::new(&vs.root(), 3, 8, 3)
            .unwrap()
            .with_step_mode(StepMode::M);
        let err = conv
            .forward(&Tensor::zeros([2, 3, 8, 8], opts()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Conv2d")
                && err.contains("[T, N, C, H, W]")
                && err.contains("[2, 3, 8, 8]"),
            "{err}"
        );
        conv.set_step_mode(StepMode::S).unwrap();
        let err = conv
            .forward(&Tensor::zeros([2, 4, 8, 8], opts()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Conv2d") && err.contains("C = 3"), "{err}");
        let err = conv
            .forward(&Tensor::zeros([2, 3, 2, 2], opts()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Conv2d:") && err.to_lowercase().contains("kernel size"),
            "{err}"
        );
        let err = Conv1d::new_with(&vs.root(), 3, 8, 3, ConvOptions::new().with_groups(2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Conv1d") && err.contains("divisible"), "{err}");
        let options = ConvOptions::new().with_padding_mode(PaddingMode::Circular);
        assert!(ConvTranspose2d::new_with(&vs.root(), 3, 8, 3, options).is_err());
        assert!(Conv2d::new_with(
            &vs.root(),
            3,
            8,
            3,
            ConvOptions::new().with_output_padding(1)
        )
        .is_err());
    }

    fn tutorial_net(vs: &nn::VarStore) -> Sequential {
        let p = vs.root();
        let conv = ConvOptions::new()
            .with_padding(1)
            .with_stride(1)
            .with_bias(false);
        Sequential::new()
            .add(Conv2d::new_with(&(&p / "0"), 3, 8, 3, conv).unwrap())
            .add(IFNode::new())
            .add(MaxPool2d::new(2).with_stride(2))
            .add(IFNode::new())
            .add(Flatten::new())
            .add(Linear::new(&(&p / "5"), 8 * 4 * 4, 10, true).unwrap())
            .add(IFNode::new())
    }

    #[test]
    fn step_by_step_equals_layer_by_layer_checklist_283() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = tutorial_net(&vs);
        let r = repr(&net);
        assert!(
            r.contains("(0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False, step_mode=s)"),
            "{r}"
        );
        assert!(
            r.contains("(2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False, step_mode=s)"),
            "{r}"
        );
        tch::manual_seed(283);
        let x_seq = Tensor::rand([4, 2, 3, 8, 8], opts()) * 64.0;
        let y_step = tch::no_grad(|| {
            Tensor::stack(
                &(0..4)
                    .map(|t| net.forward(&x_seq.get(t)).unwrap())
                    .collect::<Vec<_>>(),
                0,
            )
        });
        reset_net(&mut net);
        set_step_mode(&mut net, StepMode::M).unwrap();
        let y_layer = tch::no_grad(|| net.forward(&x_seq).unwrap());
        assert_eq!(y_layer.size(), [4, 2, 10]);
        assert_eq!((&y_layer - &y_step).abs().max().double_value(&[]), 0.0);
        // The comparison is not vacuous: the net fires.
        assert!(y_step.sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
