//! The ResNet family shared by [`super::spiking_resnet`] (torchvision's ResNet with spiking
//! neurons in place of ReLU) and [`super::sew_resnet`] (spike-element-wise residuals).
use super::{
    batch_norm2d, flatten_after, init_norm, init_tensor, kaiming_normal_fan_out, zoo_common,
    Children, NormLayer, SpikingNeuron,
};
use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::layer::{AdaptiveAvgPool2d, Conv2d, ConvOptions, Linear, MaxPool2d, Sequential};
use std::fmt;
use std::str::FromStr;
use tch::{nn, Tensor};

/// The keyword arguments of SpikingJelly's `SpikingResNet` / `SEWResNet` (torchvision's ResNet),
/// with their defaults.
#[derive(Clone, Debug)]
pub struct ResNetOptions {
    /// `num_classes=` (1000).
    pub num_classes: i64,
    /// `zero_init_residual=` (false): the last BN of every block starts with weight 0.
    pub zero_init_residual: bool,
    /// `groups=` (1; the ResNeXt constructors set 32).
    pub groups: i64,
    /// `width_per_group=` (64; ResNeXt 4 or 8, wide ResNets 128).
    pub width_per_group: i64,
    /// `replace_stride_with_dilation=` for layer2..layer4 (all false).
    pub replace_stride_with_dilation: [bool; 3],
    /// `norm_layer=` (`layer.BatchNorm2d`).
    pub norm_layer: NormLayer,
    /// Input channels of `conv1` (3; sj's addition: 1 for grayscale, 2 for DVS frames).
    pub in_channels: i64,
}

impl Default for ResNetOptions {
    fn default() -> Self {
        ResNetOptions {
            num_classes: 1000,
            zero_init_residual: false,
            groups: 1,
            width_per_group: 64,
            replace_stride_with_dilation: [false; 3],
            norm_layer: batch_norm2d,
            in_channels: 3,
        }
    }
}

/// `cnf=` of a SEW ResNet: how a block joins its residual `A` (the shortcut) with its output `S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConnectFunction {
    /// `'ADD'`: `A + S`.
    #[serde(rename = "ADD")]
    Add,
    /// `'AND'`: `A · S`.
    #[serde(rename = "AND")]
    And,
    /// `'IAND'`: `A · (1 − S)`.
    #[serde(rename = "IAND")]
    Iand,
}

impl ConnectFunction {
    /// `sew_function(x, y, cnf)`.
    pub fn apply(self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(match self {
            ConnectFunction::Add => x.f_add(y)?,
            ConnectFunction::And => x.f_mul(y)?,
            ConnectFunction::Iand => x.f_mul(&(1.0 - y))?,
        })
    }
}

impl fmt::Display for ConnectFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectFunction::Add => "ADD",
            ConnectFunction::And => "AND",
            ConnectFunction::Iand => "IAND",
        })
    }
}

impl FromStr for ConnectFunction {
    type Err = SjError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ADD" => Ok(ConnectFunction::Add),
            "AND" => Ok(ConnectFunction::And),
            "IAND" => Ok(ConnectFunction::Iand),
            other => Err(SjError::config(
                "SEWResNet",
                format!("cnf must be 'ADD', 'AND' or 'IAND', got '{other}'"),
            )),
        }
    }
}

/// Which residual a network uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Residual {
    /// Spiking ResNet: `sn(bn(conv(..)) + shortcut)`.
    Spiking,
    /// SEW ResNet: `cnf(shortcut, sn(bn(conv(..))))`, a spiking neuron after the downsample.
    Sew(ConnectFunction),
}

/// Which block a ResNet stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockKind {
    /// Two 3×3 convolutions (`expansion = 1`; ResNet-18/34).
    Basic,
    /// 1×1, 3×3, 1×1 convolutions (`expansion = 4`; ResNet-50 and deeper).
    Bottleneck,
}

impl BlockKind {
    fn expansion(self) -> i64 {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// `BasicBlock` or `Bottleneck` of a spiking or SEW ResNet: children `conv1, bn1, sn1, conv2,
/// bn2, sn2` (and `conv3, bn3, sn3` for a bottleneck), `downsample` (a `Sequential` of a 1×1
/// convolution and a norm layer) where the shape changes, and, in a SEW ResNet, `downsample_sn`.
#[derive(Debug)]
pub struct Block {
    kind: BlockKind,
    residual: Residual,
    children: Children,
    step_mode: StepMode,
}

/// What a block is built from.
struct BlockSpec<'a, N: SpikingNeuron + ?Sized> {
    kind: BlockKind,
    residual: Residual,
    neuron: &'a N,
    norm: NormLayer,
    groups: i64,
    base_width: i64,
}

fn conv(
    path: &nn::Path,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    groups: i64,
    dilation: i64,
) -> Result<Conv2d> {
    let padding = if k == 3 { dilation } else { 0 };
    Conv2d::new_with(
        path,
        c_in,
        c_out,
        k,
        ConvOptions::new()
            .with_stride(stride)
            .with_padding(padding)
            .with_groups(groups)
            .with_dilation(dilation)
            .with_bias(false),
    )
}

impl Block {
    fn new<N: SpikingNeuron + ?Sized>(
        path: &nn::Path,
        spec: &BlockSpec<N>,
        inplanes: i64,
        planes: i64,
        stride: i64,
        dilation: i64,
        downsample: Option<Sequential>,
    ) -> Result<Self> {
        let mut c = Children::default();
        let name = match spec.kind {
            BlockKind::Basic => "BasicBlock",
            BlockKind::Bottleneck => "Bottleneck",
        };
        let sn = |n: &str| spec.neuron.build(&(path / n));
        let bn = |n: &str, f: i64| (spec.norm)(&(path / n), f);
        match spec.kind {
            BlockKind::Basic => {
                if spec.groups != 1 || spec.base_width != 64 {
                    return Err(SjError::config(
                        name,
                        "BasicBlock only supports groups=1 and base_width=64",
                    ));
                }
                if dilation > 1 {
                    return Err(SjError::config(
                        name,
                        "dilation > 1 is not supported in BasicBlock (replace_stride_with_dilation needs a Bottleneck ResNet)",
                    ));
                }
                c.push(
                    "conv1",
                    Box::new(conv(&(path / "conv1"), inplanes, planes, 3, stride, 1, 1)?),
                );
                c.push("bn1", bn("bn1", planes)?);
                c.push("sn1", sn("sn1")?);
                c.push(
                    "conv2",
                    Box::new(conv(&(path / "conv2"), planes, planes, 3, 1, 1, 1)?),
                );
                c.push("bn2", bn("bn2", planes)?);
                c.push("sn2", sn("sn2")?);
            }
            BlockKind::Bottleneck => {
                let width = planes * spec.base_width / 64 * spec.groups;
                let out = planes * 4;
                c.push(
                    "conv1",
                    Box::new(conv(&(path / "conv1"), inplanes, width, 1, 1, 1, 1)?),
                );
                c.push("bn1", bn("bn1", width)?);
                c.push("sn1", sn("sn1")?);
                let conv2 = conv(
                    &(path / "conv2"),
                    width,
                    width,
                    3,
                    stride,
                    spec.groups,
                    dilation,
                )?;
                c.push("conv2", Box::new(conv2));
                c.push("bn2", bn("bn2", width)?);
                c.push("sn2", sn("sn2")?);
                c.push(
                    "conv3",
                    Box::new(conv(&(path / "conv3"), width, out, 1, 1, 1, 1)?),
                );
                c.push("bn3", bn("bn3", out)?);
                c.push("sn3", sn("sn3")?);
            }
        }
        if let Some(d) = downsample {
            c.push("downsample", Box::new(d));
            if matches!(spec.residual, Residual::Sew(_)) {
                c.push("downsample_sn", sn("downsample_sn")?);
            }
        }
        Ok(Block {
            kind: spec.kind,
            residual: spec.residual,
            children: c,
            step_mode: StepMode::S,
        })
    }

    /// The norm layer whose weight `zero_init_residual` zeroes: `bn2` (basic) or `bn3`.
    fn last_norm(&self) -> Option<&dyn Module> {
        self.children.get(match self.kind {
            BlockKind::Basic => "bn2",
            BlockKind::Bottleneck => "bn3",
        })
    }
}

impl Module for Block {
    fn type_name(&self) -> &'static str {
        match self.kind {
            BlockKind::Basic => "BasicBlock",
            BlockKind::Bottleneck => "Bottleneck",
        }
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let c = &mut self.children;
        let mut out = c.call("conv1", x)?;
        out = c.call("bn1", &out)?;
        out = c.call("sn1", &out)?;
        out = c.call("conv2", &out)?;
        out = c.call("bn2", &out)?;
        let last = match self.kind {
            BlockKind::Basic => "sn2",
            BlockKind::Bottleneck => {
                out = c.call("sn2", &out)?;
                out = c.call("conv3", &out)?;
                out = c.call("bn3", &out)?;
                "sn3"
            }
        };
        let has_downsample = c.index("downsample").is_some();
        let shortcut = |c: &mut Children| -> Result<Tensor> {
            if !has_downsample {
                return Ok(x.shallow_clone());
            }
            let d = c.call("downsample", x)?;
            match self.residual {
                Residual::Spiking => Ok(d),
                Residual::Sew(_) => c.call("downsample_sn", &d),
            }
        };
        match self.residual {
            Residual::Spiking => {
                let identity = shortcut(c)?;
                let sum = out
                    .f_add(&identity)
                    .map_err(|e| shape_error(self.kind, e))?;
                c.call(last, &sum)
            }
            Residual::Sew(cnf) => {
                out = c.call(last, &out)?;
                let identity = shortcut(c)?;
                // SpikingJelly 2.0 passes (identity, out) in BasicBlock and (out, identity) in
                // Bottleneck; the order matters for IAND.
                match self.kind {
                    BlockKind::Basic => cnf.apply(&identity, &out),
                    BlockKind::Bottleneck => cnf.apply(&out, &identity),
                }
                .map_err(|e| match e {
                    SjError::Torch(e) => shape_error(self.kind, e),
                    e => e,
                })
            }
        }
    }
    fn extra_repr(&self) -> String {
        match self.residual {
            Residual::Spiking => String::new(),
            Residual::Sew(cnf) => format!("cnf={cnf}"),
        }
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    zoo_common!();
}

fn shape_error(kind: BlockKind, e: tch::TchError) -> SjError {
    SjError::config(
        match kind {
            BlockKind::Basic => "BasicBlock",
            BlockKind::Bottleneck => "Bottleneck",
        },
        format!(
            "the residual and the block's output differ in shape: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
    )
}

/// `SpikingResNet` / `SEWResNet`: `conv1` (7×7, stride 2), `bn1`, `sn1`, `maxpool`,
/// `layer1..layer4` (`Sequential`s of blocks), `avgpool` (to 1×1), `fc`. Input `[N, 3, H, W]`
/// in step mode `'s'`, `[T, N, 3, H, W]` in `'m'`; output `[N, num_classes]` or
/// `[T, N, num_classes]`.
#[derive(Debug)]
pub struct ResNet {
    residual: Residual,
    children: Children,
    step_mode: StepMode,
}

impl ResNet {
    /// The network at `path` with `layers[i]` blocks in `layer{i+1}`.
    pub(super) fn new<N: SpikingNeuron + ?Sized>(
        path: &nn::Path,
        kind: BlockKind,
        residual: Residual,
        layers: [usize; 4],
        neuron: &N,
        options: &ResNetOptions,
    ) -> Result<Self> {
        let name = match residual {
            Residual::Spiking => "SpikingResNet",
            Residual::Sew(_) => "SEWResNet",
        };
        let o = options;
        if [o.num_classes, o.groups, o.width_per_group, o.in_channels]
            .iter()
            .any(|&v| v < 1)
        {
            return Err(SjError::config(
                name,
                format!(
                    "num_classes, groups, width_per_group and in_channels must be at least 1, got {}, {}, {}, {}",
                    o.num_classes, o.groups, o.width_per_group, o.in_channels
                ),
            ));
        }
        let spec = BlockSpec {
            kind,
            residual,
            neuron,
            norm: options.norm_layer,
            groups: options.groups,
            base_width: options.width_per_group,
        };
        let mut c = Children::default();
        let inplanes = 64;
        c.push(
            "conv1",
            Box::new(Conv2d::new_with(
                &(path / "conv1"),
                options.in_channels,
                inplanes,
                7,
                ConvOptions::new()
                    .with_stride(2)
                    .with_padding(3)
                    .with_bias(false),
            )?),
        );
        c.push("bn1", (options.norm_layer)(&(path / "bn1"), inplanes)?);
        c.push("sn1", neuron.build(&(path / "sn1"))?);
        c.push(
            "maxpool",
            Box::new(MaxPool2d::new(3).with_stride(2).with_padding(1)),
        );
        let mut state = LayerState {
            inplanes,
            dilation: 1,
        };
        let layer_names = ["layer1", "layer2", "layer3", "layer4"];
        for (i, (&blocks, layer_name)) in layers.iter().zip(layer_names).enumerate() {
            let planes = 64 << i;
            let (stride, dilate) = if i == 0 {
                (1, false)
            } else {
                (2, options.replace_stride_with_dilation[i - 1])
            };
            let layer =
                state.make_layer(&(path / layer_name), &spec, planes, blocks, stride, dilate)?;
            c.push(layer_name, Box::new(layer));
        }
        c.push("avgpool", Box::new(AdaptiveAvgPool2d::new(1)));
        c.push(
            "fc",
            Box::new(Linear::new(
                &(path / "fc"),
                512 * kind.expansion(),
                options.num_classes,
                true,
            )?),
        );
        let net = ResNet {
            residual,
            children: c,
            step_mode: StepMode::S,
        };
        net.init(options.zero_init_residual);
        Ok(net)
    }

    /// torchvision's initialisation: Kaiming-normal (fan-out) convolutions, norm layers 1 and 0,
    /// and the last norm of every block zeroed when `zero_init_residual`.
    fn init(&self, zero_init_residual: bool) {
        crate::functional::walk("", self, &mut |_, m| match m.type_name() {
            "Conv2d" => kaiming_normal_fan_out(m),
            "BatchNorm2d" | "GroupNorm" => init_norm(m),
            _ => {}
        });
        if !zero_init_residual {
            return;
        }
        crate::functional::walk("", self, &mut |_, m| {
            let last_norm = m
                .as_any()
                .and_then(|a| a.downcast_ref::<Block>())
                .and_then(Block::last_norm);
            if let Some(norm) = last_norm {
                init_tensor(norm, "weight", |w| {
                    let _ = w.fill_(0.0);
                });
            }
        });
    }
}

/// One of torchvision's ResNet architectures: block, blocks per layer, and the `groups` /
/// `width_per_group` its constructor forces.
pub(super) struct Arch {
    pub(super) name: &'static str,
    kind: BlockKind,
    layers: [usize; 4],
    groups: Option<i64>,
    width_per_group: Option<i64>,
}

const fn arch(
    name: &'static str,
    kind: BlockKind,
    layers: [usize; 4],
    groups: Option<i64>,
    width_per_group: Option<i64>,
) -> Arch {
    Arch {
        name,
        kind,
        layers,
        groups,
        width_per_group,
    }
}

/// The architectures of `spiking_resnet` and `sew_resnet`, by torchvision name.
pub(super) const ARCHS: &[Arch] = &[
    arch("resnet18", BlockKind::Basic, [2, 2, 2, 2], None, None),
    arch("resnet34", BlockKind::Basic, [3, 4, 6, 3], None, None),
    arch("resnet50", BlockKind::Bottleneck, [3, 4, 6, 3], None, None),
    arch(
        "resnet101",
        BlockKind::Bottleneck,
        [3, 4, 23, 3],
        None,
        None,
    ),
    arch(
        "resnet152",
        BlockKind::Bottleneck,
        [3, 8, 36, 3],
        None,
        None,
    ),
    arch(
        "resnext50_32x4d",
        BlockKind::Bottleneck,
        [3, 4, 6, 3],
        Some(32),
        Some(4),
    ),
    arch(
        "resnext101_32x8d",
        BlockKind::Bottleneck,
        [3, 4, 23, 3],
        Some(32),
        Some(8),
    ),
    arch(
        "wide_resnet50_2",
        BlockKind::Bottleneck,
        [3, 4, 6, 3],
        None,
        Some(128),
    ),
    arch(
        "wide_resnet101_2",
        BlockKind::Bottleneck,
        [3, 4, 23, 3],
        None,
        Some(128),
    ),
];

impl Arch {
    /// The network of this architecture; `groups` / `width_per_group` forced by the architecture
    /// override `options`, as SpikingJelly's constructors do.
    pub(super) fn build<N: SpikingNeuron + ?Sized>(
        &self,
        path: &nn::Path,
        residual: Residual,
        neuron: &N,
        options: &ResNetOptions,
    ) -> Result<ResNet> {
        let options = ResNetOptions {
            groups: self.groups.unwrap_or(options.groups),
            width_per_group: self.width_per_group.unwrap_or(options.width_per_group),
            ..options.clone()
        };
        ResNet::new(path, self.kind, residual, self.layers, neuron, &options)
    }
}

/// Defines the public constructors of one ResNet family over [`ARCHS`]: `spiking` ones take
/// `(path, neuron, options)`, `sew` ones `(path, neuron, cnf, options)`.
macro_rules! resnet_constructors {
    (spiking; $($fn_name:ident => $arch:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($fn_name), "`: torchvision's `", $arch, "` architecture (see the module documentation).")]
            pub fn $fn_name<N: SpikingNeuron + ?Sized>(
                path: &nn::Path,
                neuron: &N,
                options: &ResNetOptions,
            ) -> Result<ResNet> {
                arch_named($arch)?.build(path, Residual::Spiking, neuron, options)
            }
        )*
    };
    (sew; $($fn_name:ident => $arch:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($fn_name), "`: torchvision's `", $arch, "` architecture (see the module documentation).")]
            pub fn $fn_name<N: SpikingNeuron + ?Sized>(
                path: &nn::Path,
                neuron: &N,
                cnf: ConnectFunction,
                options: &ResNetOptions,
            ) -> Result<ResNet> {
                arch_named($arch)?.build(path, Residual::Sew(cnf), neuron, options)
            }
        )*
    };
}
pub(super) use resnet_constructors;

/// The architecture `name` (`"resnet18"`, ...), or an error listing them.
pub(super) fn arch_named(name: &str) -> Result<&'static Arch> {
    ARCHS.iter().find(|a| a.name == name).ok_or_else(|| {
        let names: Vec<_> = ARCHS.iter().map(|a| a.name).collect();
        SjError::config(
            "model",
            format!(
                "unknown ResNet architecture '{name}'; known: {}",
                names.join(", ")
            ),
        )
    })
}

/// `self.inplanes` and `self.dilation` of torchvision's `_make_layer`.
struct LayerState {
    inplanes: i64,
    dilation: i64,
}

impl LayerState {
    fn make_layer<N: SpikingNeuron + ?Sized>(
        &mut self,
        path: &nn::Path,
        spec: &BlockSpec<N>,
        planes: i64,
        blocks: usize,
        mut stride: i64,
        dilate: bool,
    ) -> Result<Sequential> {
        let previous_dilation = self.dilation;
        if dilate {
            self.dilation *= stride;
            stride = 1;
        }
        let out = planes * spec.kind.expansion();
        let downsample = if stride != 1 || self.inplanes != out {
            let d = path / "0" / "downsample";
            let mut d_seq =
                Sequential::new().add(conv(&(&d / "0"), self.inplanes, out, 1, stride, 1, 1)?);
            d_seq.push((spec.norm)(&(&d / "1"), out)?);
            Some(d_seq)
        } else {
            None
        };
        let mut layer = Sequential::new();
        layer.push(Box::new(Block::new(
            &(path / "0"),
            spec,
            self.inplanes,
            planes,
            stride,
            previous_dilation,
            downsample,
        )?));
        self.inplanes = out;
        for i in 1..blocks {
            layer.push(Box::new(Block::new(
                &(path / i.to_string()),
                spec,
                self.inplanes,
                planes,
                1,
                self.dilation,
                None,
            )?));
        }
        Ok(layer)
    }
}

impl Module for ResNet {
    fn type_name(&self) -> &'static str {
        match self.residual {
            Residual::Spiking => "SpikingResNet",
            Residual::Sew(_) => "SEWResNet",
        }
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let c = &mut self.children;
        let mut y = x.shallow_clone();
        for name in [
            "conv1", "bn1", "sn1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
        ] {
            y = c.call(name, &y)?;
        }
        let y = flatten_after(c.get("avgpool"), &y)?;
        c.call("fc", &y)
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    zoo_common!();
}
