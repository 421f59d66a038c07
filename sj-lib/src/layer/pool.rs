//! `layer.MaxPool1d/2d/3d`, `layer.AvgPool1d/2d/3d` and `layer.AdaptiveAvgPool1d/2d/3d`: PyTorch's
//! pooling with a step mode (inventory §2.4.2). Input `[N, C, *spatial]`, or `[T, N, C, *spatial]`
//! in step mode `m` (run as one `T·N` batch).
use super::conv::{forward_nd, py_tuple, IntoSize, SpatialOptions};
use crate::base::{Module, StepMode};
use crate::error::op_error;
use crate::error::Result;
use tch::Tensor;

/// Formats a size as PyTorch prints an `int` pooling argument: `2`, or `(2, 3)` when it differs
/// between dimensions.
fn py_size(values: &[i64]) -> String {
    if values.windows(2).all(|w| w[0] == w[1]) {
        values[0].to_string()
    } else {
        py_tuple(values)
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `D`-dimensional max pooling; use the aliases [`MaxPool1d`], [`MaxPool2d`], [`MaxPool3d`].
/// (`return_indices` is not offered: a module returns one tensor.)
#[derive(Debug)]
pub struct MaxPoolNd<const D: usize> {
    kernel_size: [i64; D],
    spatial: SpatialOptions<D>,
    ceil_mode: bool,
    step_mode: StepMode,
}

/// `layer.MaxPool1d`.
pub type MaxPool1d = MaxPoolNd<1>;
/// `layer.MaxPool2d`.
pub type MaxPool2d = MaxPoolNd<2>;
/// `layer.MaxPool3d`.
pub type MaxPool3d = MaxPoolNd<3>;

impl<const D: usize> MaxPoolNd<D> {
    const NAME: &'static str = ["MaxPool1d", "MaxPool2d", "MaxPool3d"][D - 1];

    /// `MaxPool2d(kernel_size)`: `stride=None` (the kernel size), `padding=0, dilation=1, ceil_mode=False`.
    pub fn new(kernel_size: impl IntoSize<D>) -> Self {
        MaxPoolNd {
            kernel_size: kernel_size.into_size(),
            spatial: SpatialOptions::default(),
            ceil_mode: false,
            step_mode: StepMode::S,
        }
    }
    /// `MaxPool2d(kernel_size, stride, padding, dilation)` from one [`SpatialOptions`], checked
    /// here: positive sizes, padding at most half the kernel.
    pub fn new_with(kernel_size: impl IntoSize<D>, spatial: SpatialOptions<D>) -> Result<Self> {
        let pool = Self::new(kernel_size).with_spatial(spatial);
        pool.spatial.check(Self::NAME, &pool.kernel_size, true)?;
        Ok(pool)
    }
    /// `stride=`.
    pub fn with_stride(mut self, stride: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_stride(stride);
        self
    }
    /// `padding=` (implicit negative infinity).
    pub fn with_padding(mut self, padding: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_padding(padding);
        self
    }
    /// `dilation=`.
    pub fn with_dilation(mut self, dilation: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_dilation(dilation);
        self
    }
    /// `stride=`, `padding=` and `dilation=` at once (checked at the forward; [`Self::new_with`]
    /// checks at once).
    pub fn with_spatial(mut self, spatial: SpatialOptions<D>) -> Self {
        self.spatial = spatial;
        self
    }
    /// `ceil_mode=`.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    fn pool(&self, x: &Tensor) -> Result<Tensor> {
        let (k, s, p, d, c) = (
            self.kernel_size,
            self.spatial.stride_or(self.kernel_size),
            self.spatial.padding,
            self.spatial.dilation,
            self.ceil_mode,
        );
        match D {
            1 => x.f_max_pool1d(k, s, p, d, c),
            2 => x.f_max_pool2d(k, s, p, d, c),
            _ => x.f_max_pool3d(k, s, p, d, c),
        }
        .map_err(op_error(Self::NAME))
    }
}

impl<const D: usize> Module for MaxPoolNd<D> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.spatial.check(Self::NAME, &self.kernel_size, true)?;
        forward_nd(Self::NAME, self.step_mode, x, D..=D, None, |x| self.pool(x))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!(
            "kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}, step_mode={}",
            py_size(&self.kernel_size),
            py_size(&self.spatial.stride_or(self.kernel_size)),
            py_size(&self.spatial.padding),
            py_size(&self.spatial.dilation),
            py_bool(self.ceil_mode),
            self.step_mode
        )
    }
}

/// `D`-dimensional average pooling; use the aliases [`AvgPool1d`], [`AvgPool2d`], [`AvgPool3d`].
#[derive(Debug)]
pub struct AvgPoolNd<const D: usize> {
    kernel_size: [i64; D],
    spatial: SpatialOptions<D>,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
    step_mode: StepMode,
}

/// `layer.AvgPool1d`.
pub type AvgPool1d = AvgPoolNd<1>;
/// `layer.AvgPool2d`.
pub type AvgPool2d = AvgPoolNd<2>;
/// `layer.AvgPool3d`.
pub type AvgPool3d = AvgPoolNd<3>;

impl<const D: usize> AvgPoolNd<D> {
    const NAME: &'static str = ["AvgPool1d", "AvgPool2d", "AvgPool3d"][D - 1];

    /// `AvgPool2d(kernel_size)`: `stride=None` (the kernel size), `padding=0, ceil_mode=False,
    /// count_include_pad=True, divisor_override=None`.
    pub fn new(kernel_size: impl IntoSize<D>) -> Self {
        AvgPoolNd {
            kernel_size: kernel_size.into_size(),
            spatial: SpatialOptions::default(),
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
            step_mode: StepMode::S,
        }
    }
    /// `AvgPool2d(kernel_size, stride, padding)` from one [`SpatialOptions`] (its `dilation`
    /// must stay 1), checked here: positive sizes, padding at most half the kernel.
    pub fn new_with(kernel_size: impl IntoSize<D>, spatial: SpatialOptions<D>) -> Result<Self> {
        let pool = Self::new(kernel_size).with_spatial(spatial);
        pool.check()?;
        Ok(pool)
    }
    /// `stride=`.
    pub fn with_stride(mut self, stride: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_stride(stride);
        self
    }
    /// `padding=` (implicit zeros).
    pub fn with_padding(mut self, padding: impl IntoSize<D>) -> Self {
        self.spatial = self.spatial.with_padding(padding);
        self
    }
    /// `stride=` and `padding=` at once (checked at the forward; [`Self::new_with`] checks at
    /// once).
    pub fn with_spatial(mut self, spatial: SpatialOptions<D>) -> Self {
        self.spatial = spatial;
        self
    }
    /// `ceil_mode=`.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
    /// `count_include_pad=`.
    pub fn with_count_include_pad(mut self, count_include_pad: bool) -> Self {
        self.count_include_pad = count_include_pad;
        self
    }
    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The window check, and no dilation (PyTorch's average pooling has none).
    fn check(&self) -> Result<()> {
        if self.spatial.dilation != [1; D] {
            return Err(crate::error::SjError::config(
                Self::NAME,
                format!(
                    "has no dilation= argument, got dilation={}",
                    py_tuple(&self.spatial.dilation)
                ),
            ));
        }
        self.spatial.check(Self::NAME, &self.kernel_size, true)
    }

    fn pool(&self, x: &Tensor) -> Result<Tensor> {
        let (k, s, p, c, i, o) = (
            self.kernel_size,
            self.spatial.stride_or(self.kernel_size),
            self.spatial.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        );
        match D {
            1 => x.f_avg_pool1d(k, s, p, c, i),
            // libtorch's CPU kernel for channels-last input is vectorised over channels; its NCHW
            // kernel is not: pooling a channels-last copy and copying the (smaller) result back
            // gives the same values in about half the time ([100, 32, 26, 26]: 1.25 ms
            // against 2.59 ms on this machine).
            2 if x.device() == tch::Device::Cpu && x.dim() == 4 && x.is_contiguous() => x
                .permute([0, 2, 3, 1])
                .contiguous()
                .permute([0, 3, 1, 2])
                .f_avg_pool2d(k, s, p, c, i, o)
                .map(|y| y.contiguous()),
            2 => x.f_avg_pool2d(k, s, p, c, i, o),
            _ => x.f_avg_pool3d(k, s, p, c, i, o),
        }
        .map_err(op_error(Self::NAME))
    }
}

macro_rules! divisor_override {
    ($($d:literal),*) => {$(
        impl AvgPoolNd<$d> {
            /// `divisor_override=`: divide every window sum by this instead of the window size.
            pub fn with_divisor_override(mut self, divisor: i64) -> Self {
                self.divisor_override = Some(divisor);
                self
            }
        }
    )*};
}
divisor_override!(2, 3);

impl<const D: usize> Module for AvgPoolNd<D> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.check()?;
        forward_nd(Self::NAME, self.step_mode, x, D..=D, None, |x| self.pool(x))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        // PyTorch keeps AvgPool1d's sizes as 1-tuples and the 2-D/3-D ones as given.
        let size = |v: &[i64]| if D == 1 { py_tuple(v) } else { py_size(v) };
        format!(
            "kernel_size={}, stride={}, padding={}, step_mode={}",
            size(&self.kernel_size),
            size(&self.spatial.stride_or(self.kernel_size)),
            size(&self.spatial.padding),
            self.step_mode
        )
    }
}

/// `D`-dimensional adaptive average pooling to a fixed output size; use the aliases
/// [`AdaptiveAvgPool1d`], [`AdaptiveAvgPool2d`], [`AdaptiveAvgPool3d`].
#[derive(Debug)]
pub struct AdaptiveAvgPoolNd<const D: usize> {
    output_size: [i64; D],
    step_mode: StepMode,
}

/// `layer.AdaptiveAvgPool1d`.
pub type AdaptiveAvgPool1d = AdaptiveAvgPoolNd<1>;
/// `layer.AdaptiveAvgPool2d`.
pub type AdaptiveAvgPool2d = AdaptiveAvgPoolNd<2>;
/// `layer.AdaptiveAvgPool3d`.
pub type AdaptiveAvgPool3d = AdaptiveAvgPoolNd<3>;

impl<const D: usize> AdaptiveAvgPoolNd<D> {
    const NAME: &'static str = [
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
    ][D - 1];

    /// `AdaptiveAvgPool2d(output_size)`.
    pub fn new(output_size: impl IntoSize<D>) -> Self {
        AdaptiveAvgPoolNd {
            output_size: output_size.into_size(),
            step_mode: StepMode::S,
        }
    }
    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    fn pool(&self, x: &Tensor) -> Result<Tensor> {
        let o = self.output_size;
        match D {
            1 => x.f_adaptive_avg_pool1d(o),
            2 => x.f_adaptive_avg_pool2d(o),
            _ => x.f_adaptive_avg_pool3d(o),
        }
        .map_err(op_error(Self::NAME))
    }
}

impl<const D: usize> Module for AdaptiveAvgPoolNd<D> {
    fn type_name(&self) -> &'static str {
        Self::NAME
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        forward_nd(Self::NAME, self.step_mode, x, D..=D, None, |x| self.pool(x))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!(
            "output_size={}, step_mode={}",
            py_size(&self.output_size),
            self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn avg_pool2d_through_channels_last_equals_libtorchs_nchw_kernel() {
        tch::manual_seed(1);
        let x = Tensor::randn([3, 5, 9, 8], (Kind::Float, Device::Cpu));
        for (k, st, pad, ceil, include, div) in [
            (2, 2, 0, false, true, None),
            (3, 2, 1, true, false, None),
            (3, 1, 1, false, true, Some(5)),
        ] {
            let mut pool = AvgPool2d::new(k)
                .with_stride(st)
                .with_padding(pad)
                .with_ceil_mode(ceil)
                .with_count_include_pad(include);
            if let Some(d) = div {
                pool = pool.with_divisor_override(d);
            }
            let got = pool.forward(&x).unwrap();
            let want = x.avg_pool2d([k, k], [st, st], [pad, pad], ceil, include, div);
            assert!(got.is_contiguous());
            assert!(got.equal(&want), "k {k} stride {st} padding {pad}");
        }
    }

    fn grid() -> Tensor {
        // [1, 1, 4, 4] holding 0..15 row by row
        Tensor::arange(16, (Kind::Float, Device::Cpu)).view([1, 1, 4, 4])
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn hand_computed_pooling_values() {
        assert_eq!(
            values(&MaxPool2d::new(2).forward(&grid()).unwrap()),
            [5.0, 7.0, 13.0, 15.0]
        );
        assert_eq!(
            values(&AvgPool2d::new(2).forward(&grid()).unwrap()),
            [2.5, 4.5, 10.5, 12.5]
        );
        // 3x3 windows with stride 1: centre sums 45 and 54 over 9
        assert_eq!(
            values(&AvgPool2d::new(3).with_stride(1).forward(&grid()).unwrap()),
            [5.0, 6.0, 9.0, 10.0]
        );
        // padding 1 with count_include_pad=False: the corner window holds only x[0][0] = 0,
        // window (1, 1) holds 5, 6, 9, 10
        let mut p = AvgPool2d::new(2)
            .with_padding(1)
            .with_count_include_pad(false);
        assert_eq!(p.forward(&grid()).unwrap().double_value(&[0, 0, 0, 0]), 0.0);
        assert_eq!(p.forward(&grid()).unwrap().double_value(&[0, 0, 1, 1]), 7.5);
        let mut d = AvgPool2d::new(2).with_divisor_override(1);
        assert_eq!(
            values(&d.forward(&grid()).unwrap()),
            [10.0, 18.0, 42.0, 50.0]
        );
        assert_eq!(
            values(&AdaptiveAvgPool2d::new(1).forward(&grid()).unwrap()),
            [7.5]
        );
        assert_eq!(
            values(&AdaptiveAvgPool2d::new([1, 2]).forward(&grid()).unwrap()),
            [6.5, 8.5]
        );
        let row = Tensor::from_slice(&[1.0f32, 4.0, 2.0, 8.0, 3.0]).view([1, 1, 5]);
        assert_eq!(
            values(&MaxPool1d::new(2).forward(&row).unwrap()),
            [4.0, 8.0]
        );
        assert_eq!(
            values(
                &MaxPool1d::new(2)
                    .with_ceil_mode(true)
                    .forward(&row)
                    .unwrap()
            ),
            [4.0, 8.0, 3.0]
        );
        assert_eq!(
            values(&AvgPool1d::new(2).forward(&row).unwrap()),
            [2.5, 5.0]
        );
        assert_eq!(
            values(&AdaptiveAvgPool1d::new(1).forward(&row).unwrap()),
            [3.6]
        );
        let cube = Tensor::arange(8, (Kind::Float, Device::Cpu)).view([1, 1, 2, 2, 2]);
        assert_eq!(values(&MaxPool3d::new(2).forward(&cube).unwrap()), [7.0]);
        assert_eq!(values(&AvgPool3d::new(2).forward(&cube).unwrap()), [3.5]);
        assert_eq!(
            values(&AdaptiveAvgPool3d::new(1).forward(&cube).unwrap()),
            [3.5]
        );
        // dilation 2 picks 0, 2, 8, 10 for the first window
        assert_eq!(
            values(
                &MaxPool2d::new(2)
                    .with_stride(1)
                    .with_dilation(2)
                    .forward(&grid())
                    .unwrap()
            ),
            [10.0, 11.0, 14.0, 15.0]
        );
    }

    #[test]
    fn multi_step_equals_stacked_single_steps_exactly() {
        tch::manual_seed(1);
        let x = Tensor::rand([3, 2, 2, 6, 6], (Kind::Float, Device::Cpu));
        let mut layers: Vec<(Box<dyn Module>, Tensor)> = vec![
            (
                Box::new(MaxPool2d::new(3).with_stride(2).with_padding(1)),
                x.shallow_clone(),
            ),
            (
                Box::new(AvgPool2d::new([2, 3]).with_ceil_mode(true)),
                x.shallow_clone(),
            ),
            (Box::new(AdaptiveAvgPool2d::new([4, 5])), x.shallow_clone()),
            (Box::new(MaxPool1d::new(2)), x.select(2, 0)),
            (Box::new(AvgPool1d::new(3).with_stride(1)), x.select(2, 0)),
            (Box::new(AdaptiveAvgPool1d::new(4)), x.select(2, 0)),
            (Box::new(MaxPool3d::new(2)), x.unsqueeze(2)),
            (Box::new(AvgPool3d::new([1, 2, 2])), x.unsqueeze(2)),
            (Box::new(AdaptiveAvgPool3d::new([1, 3, 3])), x.unsqueeze(2)),
        ];
        for (layer, x) in layers.iter_mut() {
            let y_s = Tensor::stack(
                &(0..3)
                    .map(|t| layer.forward(&x.get(t)).unwrap())
                    .collect::<Vec<_>>(),
                0,
            );
            layer.set_step_mode(StepMode::M).unwrap();
            let y_m = layer.forward(x).unwrap();
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
    fn reprs_follow_pytorch() {
        assert_eq!(
            MaxPool2d::new(2).extra_repr(),
            "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False, step_mode=s"
        );
        assert_eq!(
            MaxPool2d::new([2, 3]).with_step_mode(StepMode::M).extra_repr(),
            "kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False, step_mode=m"
        );
        assert_eq!(
            AvgPool1d::new(2).extra_repr(),
            "kernel_size=(2,), stride=(2,), padding=(0,), step_mode=s"
        );
        assert_eq!(
            AvgPool2d::new(2).extra_repr(),
            "kernel_size=2, stride=2, padding=0, step_mode=s"
        );
        assert_eq!(
            AdaptiveAvgPool2d::new(1).extra_repr(),
            "output_size=1, step_mode=s"
        );
        assert_eq!(AdaptiveAvgPool3d::new(1).type_name(), "AdaptiveAvgPool3d");
    }

    #[test]
    fn windows_are_checked_once_at_construction_or_at_the_forward() {
        let window = SpatialOptions::<2>::new().with_stride(1).with_padding(1);
        let mut pool = MaxPool2d::new_with(3, window).unwrap();
        assert_eq!(pool.forward(&grid()).unwrap().size(), [1, 1, 4, 4]);
        assert_eq!(
            pool.extra_repr(),
            MaxPool2d::new(3)
                .with_stride(1)
                .with_padding(1)
                .extra_repr()
        );
        let err = MaxPool2d::new_with(3, window.with_padding(2))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("MaxPool2d:") && err.contains("half the kernel"),
            "{err}"
        );
        // the setters never fail; the same check runs at the forward
        let err = AvgPool2d::new(2)
            .with_padding(2)
            .forward(&grid())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AvgPool2d:") && err.contains("padding=(2, 2)"),
            "{err}"
        );
        let err = AvgPool2d::new_with(2, SpatialOptions::new().with_dilation(2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no dilation"), "{err}");
        let err = MaxPool1d::new(2)
            .with_stride(0)
            .forward(&grid().view([1, 4, 4]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stride and dilation must be positive"),
            "{err}"
        );
    }

    #[test]
    fn bad_shapes_name_the_layer() {
        let mut pool = MaxPool2d::new(2).with_step_mode(StepMode::M);
        let err = pool
            .forward(&Tensor::zeros([2, 3, 8, 8], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MaxPool2d")
                && err.contains("[T, N, C, H, W]")
                && err.contains("[2, 3, 8, 8]"),
            "{err}"
        );
        let mut pool = AvgPool1d::new(4);
        let err = pool
            .forward(&Tensor::zeros([1, 1, 2], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("AvgPool1d:"), "{err}");
        let err = AvgPool3d::new(2)
            .forward(&Tensor::zeros([1, 2, 2, 2], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AvgPool3d") && err.contains("[N, C, D, H, W]"),
            "{err}"
        );
    }
}
