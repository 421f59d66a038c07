//! The functional forms: STDP on Linear, Conv1d and Conv2d synapses (single and multi-step) and
//! the eligibility of the reward-modulated rules.
use super::{Decay, StdpOptions};
use crate::base::Module;
use crate::error::{Result, SjError};
use crate::layer::{Conv1d, Conv2d, Linear};
use tch::nn::PaddingMode;
use tch::{Kind, Tensor};

/// What a learning rule needs of a synapse: its weight and how inputs map to outputs.
#[derive(Debug)]
pub enum Synapse {
    /// A `Linear` layer: weight `[N_out, N_in]`.
    Linear {
        /// The weight (sharing storage with the layer's).
        weight: Tensor,
    },
    /// A `Conv1d` or `Conv2d` layer (dilation 1, one group), handled as 2-D (Conv1d with height 1).
    Conv {
        /// The weight `[C_out, C_in, kH, kW]` or `[C_out, C_in, kL]`.
        weight: Tensor,
        /// Conv1d.
        one_d: bool,
        /// `(stride_h, stride_w)`.
        stride: [i64; 2],
        /// `(padding_h, padding_w)`, per side.
        padding: [i64; 2],
        /// `padding_mode`.
        mode: PaddingMode,
    },
}

impl Synapse {
    /// The synapse of `module`: a `Linear`, `Conv1d` or `Conv2d` (SpikingJelly's rules know no
    /// others), without dilation or groups (an error, as in SpikingJelly).
    pub fn of(module: &dyn Module) -> Result<Self> {
        let any = module.as_any();
        if let Some(fc) = any.and_then(|a| a.downcast_ref::<Linear>()) {
            return Ok(Synapse::Linear {
                weight: fc.weight().shallow_clone(),
            });
        }
        if let Some(conv) = any.and_then(|a| a.downcast_ref::<Conv2d>()) {
            let (_, _, _, o) = conv.config();
            return Self::conv(
                "Conv2d",
                conv.weight(),
                false,
                o.stride(),
                o.spatial.padding,
                o.spatial.dilation,
                o.groups,
                o.padding_mode,
            );
        }
        if let Some(conv) = any.and_then(|a| a.downcast_ref::<Conv1d>()) {
            let (_, _, _, o) = conv.config();
            return Self::conv(
                "Conv1d",
                conv.weight(),
                true,
                [1, o.stride()[0]],
                [0, o.spatial.padding[0]],
                [1, o.spatial.dilation[0]],
                o.groups,
                o.padding_mode,
            );
        }
        Err(SjError::config(
            "learning",
            format!(
                "STDP is defined for Linear, Conv1d and Conv2d synapses, not {}",
                module.type_name()
            ),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(
        name: &str,
        weight: &Tensor,
        one_d: bool,
        stride: [i64; 2],
        padding: [i64; 2],
        dilation: [i64; 2],
        groups: i64,
        mode: PaddingMode,
    ) -> Result<Self> {
        if dilation != [1, 1] {
            return Err(SjError::config(
                "learning",
                format!(
                    "STDP with dilation != 1 for {name} is not implemented (as in SpikingJelly)"
                ),
            ));
        }
        if groups != 1 {
            return Err(SjError::config(
                "learning",
                format!("STDP with groups != 1 for {name} is not implemented (as in SpikingJelly)"),
            ));
        }
        Ok(Synapse::Conv {
            weight: weight.shallow_clone(),
            one_d,
            stride,
            padding,
            mode,
        })
    }

    /// The weight.
    pub fn weight(&self) -> &Tensor {
        match self {
            Synapse::Linear { weight } | Synapse::Conv { weight, .. } => weight,
        }
    }

    /// SpikingJelly's class name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Synapse::Linear { .. } => "Linear",
            Synapse::Conv { one_d: true, .. } => "Conv1d",
            Synapse::Conv { one_d: false, .. } => "Conv2d",
        }
    }

    /// The dimensions of one step's input (`[N, N_in]`: 2; Conv1d: 3; Conv2d: 4).
    fn step_dims(&self) -> usize {
        match self {
            Synapse::Linear { .. } => 2,
            Synapse::Conv { one_d: true, .. } => 3,
            Synapse::Conv { one_d: false, .. } => 4,
        }
    }

    /// The input sequence `[T, B, ...]` as the rule sees it: padded like the convolution pads it.
    fn pad(&self, what: &str, x: &Tensor) -> Result<Tensor> {
        let Synapse::Conv { padding, mode, .. } = self else {
            return Ok(x.shallow_clone());
        };
        if *padding == [0, 0] {
            return Ok(x.shallow_clone());
        }
        let size = x.size();
        let (t, b) = (size[0], size[1]);
        let flat = x.flatten(0, 1);
        let pad: Vec<i64> = if self.step_dims() == 3 {
            vec![padding[1], padding[1]]
        } else {
            vec![padding[1], padding[1], padding[0], padding[0]]
        };
        let padded = match mode {
            PaddingMode::Zeros => flat.f_constant_pad_nd(pad.as_slice()),
            PaddingMode::Reflect => flat.f_pad(pad.as_slice(), "reflect", None),
            PaddingMode::Replicate => flat.f_pad(pad.as_slice(), "replicate", None),
            PaddingMode::Circular => flat.f_pad(pad.as_slice(), "circular", None),
        }
        .map_err(|e| SjError::config(what, format!("padding the input: {e}")))?;
        let mut out = vec![t, b];
        out.extend_from_slice(&padded.size()[1..]);
        Ok(padded.reshape(out))
    }

    /// STDP over a sequence: `in_seq [T, B, ...]` (unpadded), `out_seq [T, B, ...]`, the traces
    /// before the first step (`None`: zeros). Returns the traces after the last step (the
    /// presynaptic one on the padded input) and Σₜ Δwₜ with the weight held fixed.
    pub(crate) fn stdp(
        &self,
        what: &str,
        in_seq: &Tensor,
        out_seq: &Tensor,
        trace_pre: Option<&Tensor>,
        trace_post: Option<&Tensor>,
        options: &StdpOptions,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        options.check(what, Decay::Euler)?;
        let (in_seq, out_seq) = self.check_spikes(what, in_seq, out_seq, 1)?;
        let in_pad = self.pad(what, &in_seq)?;
        let tr_pre = traces(
            what,
            "trace_pre",
            &in_pad,
            trace_pre,
            Decay::Euler.factor(options.tau_pre),
        )?;
        let tr_post = traces(
            what,
            "trace_post",
            &out_seq,
            trace_post,
            Decay::Euler.factor(options.tau_post),
        )?;
        let (post, pre) = self.products(what, &in_pad, &out_seq, &tr_pre, &tr_post)?;
        let w = self.weight();
        let dw = weighted(&options.f_post, w, post) - weighted(&options.f_pre, w, pre);
        let last = in_seq.size()[0] - 1;
        Ok((tr_pre.get(last), tr_post.get(last), dw))
    }

    /// Checks `[T, B, ...]` spike sequences against the synapse (`extra` = 1 for the time
    /// dimension) and casts them to the weight's kind.
    fn check_spikes(
        &self,
        what: &str,
        x: &Tensor,
        y: &Tensor,
        extra: usize,
    ) -> Result<(Tensor, Tensor)> {
        let w = self.weight();
        let dims = self.step_dims() + extra;
        for (name, s) in [("in_spike", x), ("out_spike", y)] {
            if s.dim() != dims {
                return Err(SjError::config(
                    what,
                    format!(
                        "{name} must have {dims} dimensions for a {} synapse ({}), got {:?}",
                        self.type_name(),
                        if extra == 1 {
                            "[T, N, ...]"
                        } else {
                            "[N, ...]"
                        },
                        s.size()
                    ),
                ));
            }
            if !s.is_floating_point() && s.kind() != Kind::Bool {
                return Err(SjError::config(
                    what,
                    format!(
                        "{name} must hold float (or bool) spikes, got {:?}",
                        s.kind()
                    ),
                ));
            }
            if s.device() != w.device() {
                return Err(SjError::config(
                    what,
                    format!(
                        "{name} is on {:?}, the weight on {:?}",
                        s.device(),
                        w.device()
                    ),
                ));
            }
        }
        let (xs, ys) = (x.size(), y.size());
        let channels = |s: &[i64]| s[extra + 1];
        let (w_out, w_in) = (w.size()[0], w.size()[1]);
        if xs[..=extra] != ys[..=extra] || channels(&xs) != w_in || channels(&ys) != w_out {
            return Err(SjError::config(
                what,
                format!(
                    "spikes {xs:?} in and {ys:?} out do not fit the {} weight {:?} (the same time and batch sizes, {w_in} input and {w_out} output features or channels)",
                    self.type_name(),
                    w.size()
                ),
            ));
        }
        Ok((x.to_kind(w.kind()), y.to_kind(w.kind())))
    }

    /// The rule's two sums over steps, samples (and positions): `(Σ S_out·tr_preᵀ,
    /// Σ tr_post·S_inᵀ)`, each shaped like the weight.
    fn products(
        &self,
        what: &str,
        in_pad: &Tensor,
        out_seq: &Tensor,
        tr_pre: &Tensor,
        tr_post: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let w = self.weight();
        match self {
            Synapse::Linear { .. } => {
                let rows = |x: &Tensor| x.reshape([-1, x.size()[2]]);
                let post = rows(out_seq).tr().matmul(&rows(tr_pre));
                let pre = rows(tr_post).tr().matmul(&rows(in_pad));
                Ok((post, pre))
            }
            Synapse::Conv { stride, one_d, .. } => {
                let ws = w.size();
                let kernel = if *one_d { [1, ws[2]] } else { [ws[2], ws[3]] };
                // [T, B, C, (H,) W] -> [T·B, C, H, W]
                let as_2d = |x: &Tensor| {
                    let x = x.flatten(0, 1);
                    if *one_d {
                        x.unsqueeze(2)
                    } else {
                        x
                    }
                };
                let (c_out, tb) = (ws[0], in_pad.size()[0] * in_pad.size()[1]);
                let columns = |x: &Tensor| -> Result<Tensor> {
                    // [T·B, C·kH·kW, L] -> [T·B·L, C·kH·kW]
                    let u = as_2d(x)
                        .f_im2col(kernel, [1, 1], [0, 0], *stride)
                        .map_err(|e| {
                            SjError::config(
                                what,
                                format!("the input is smaller than the kernel: {e}"),
                            )
                        })?;
                    Ok(u.permute([0, 2, 1]).reshape([-1, u.size()[1]]))
                };
                let (u_in, u_tr) = (columns(in_pad)?, columns(tr_pre)?);
                let positions = u_in.size()[0] / tb;
                let out_positions: i64 = out_seq.size()[3..].iter().product();
                if positions != out_positions {
                    return Err(SjError::config(
                        what,
                        format!(
                            "out_spike {:?} is not the {} output of in_spike (the kernel and stride give {positions} positions)",
                            out_seq.size(),
                            self.type_name()
                        ),
                    ));
                }
                // [T, B, C_out, ...] -> [C_out, T·B·L]
                let per_channel = |x: &Tensor| {
                    x.reshape([tb, c_out, -1])
                        .permute([1, 0, 2])
                        .reshape([c_out, -1])
                };
                let post = per_channel(out_seq).matmul(&u_tr).reshape(ws.as_slice());
                let pre = per_channel(tr_post).matmul(&u_in).reshape(ws.as_slice());
                Ok((post, pre))
            }
        }
    }
}

/// `f(w)·x`, skipping the product for the identity.
fn weighted(f: &super::WeightFn, w: &Tensor, x: Tensor) -> Tensor {
    match f.apply(w) {
        Some(fw) => fw * x,
        None => w * x,
    }
}

/// The traces of every step of `s [T, ...]`: `tr[t] = a·tr[t−1] + s[t]`, from `init` (`None`:
/// zeros), stacked `[T, ...]`.
fn traces(what: &str, name: &str, s: &Tensor, init: Option<&Tensor>, a: f64) -> Result<Tensor> {
    let step = s.size()[1..].to_vec();
    let mut tr = match init {
        Some(tr) if tr.size() != step => {
            return Err(SjError::config(
                what,
                format!(
                    "{name} {:?} does not match one step's spikes {step:?} (a trace from another batch size? call reset)",
                    tr.size()
                ),
            ))
        }
        Some(tr) => tr.to_kind(s.kind()).to_device(s.device()),
        None => Tensor::zeros(step.as_slice(), (s.kind(), s.device())),
    };
    let mut out = Vec::with_capacity(s.size()[0] as usize);
    for t in 0..s.size()[0] {
        tr = &tr * a + s.get(t);
        out.push(tr.shallow_clone());
    }
    Ok(Tensor::stack(&out, 0))
}

/// One step of STDP on a layer: the step's spikes as a sequence of one.
fn single_step(
    what: &str,
    synapse: &Synapse,
    in_spike: &Tensor,
    out_spike: &Tensor,
    trace_pre: Option<&Tensor>,
    trace_post: Option<&Tensor>,
    options: &StdpOptions,
) -> Result<(Tensor, Tensor, Tensor)> {
    tch::no_grad(|| {
        synapse.stdp(
            what,
            &in_spike.unsqueeze(0),
            &out_spike.unsqueeze(0),
            trace_pre,
            trace_post,
            options,
        )
    })
}

/// `stdp_multi_step(layer, in_spike, out_spike, ...)`: `[T, N, ...]` spikes through a Linear,
/// Conv1d or Conv2d `layer`; the traces thread through the steps and `delta_w` is the sum over
/// steps with the weight held fixed (the single-step rule run T times, in a few batched ops).
pub fn stdp_multi_step(
    layer: &dyn Module,
    in_spike: &Tensor,
    out_spike: &Tensor,
    trace_pre: Option<&Tensor>,
    trace_post: Option<&Tensor>,
    options: &StdpOptions,
) -> Result<(Tensor, Tensor, Tensor)> {
    let synapse = Synapse::of(layer)?;
    let what = "stdp_multi_step";
    if in_spike.dim() >= 1 && in_spike.size()[0] == 0 {
        return Err(SjError::config(
            what,
            "the spike sequences have no time step (T = 0)",
        ));
    }
    tch::no_grad(|| synapse.stdp(what, in_spike, out_spike, trace_pre, trace_post, options))
}

/// The eligibility of the reward-modulated rules on a Linear synapse, with exponentially
/// decaying traces: per sample `f_post(W)⊙(S_out ⊗ tr_pre) − f_pre(W)⊙(tr_post ⊗ S_in)`.
pub(crate) fn eligibility(
    what: &str,
    synapse: &Synapse,
    in_spike: &Tensor,
    out_spike: &Tensor,
    trace_pre: Option<&Tensor>,
    trace_post: Option<&Tensor>,
    options: &StdpOptions,
) -> Result<(Tensor, Tensor, Tensor)> {
    options.check(what, Decay::Exp)?;
    if !matches!(synapse, Synapse::Linear { .. }) {
        return Err(SjError::config(
            what,
            "the reward rules are defined for Linear synapses",
        ));
    }
    let unbatched = in_spike.dim() == 1 && out_spike.dim() == 1;
    let batch = |x: &Tensor| {
        if unbatched {
            x.unsqueeze(0)
        } else {
            x.shallow_clone()
        }
    };
    let (in_b, out_b) = (batch(in_spike), batch(out_spike));
    tch::no_grad(|| {
        let (in_seq, out_seq) =
            synapse.check_spikes(what, &in_b.unsqueeze(0), &out_b.unsqueeze(0), 1)?;
        let trace = |name: &str, s: &Tensor, init: Option<&Tensor>, tau: f64| -> Result<Tensor> {
            let init = init.map(|t| {
                if unbatched {
                    t.unsqueeze(0)
                } else {
                    t.shallow_clone()
                }
            });
            Ok(traces(what, name, s, init.as_ref(), Decay::Exp.factor(tau))?.get(0))
        };
        let tr_pre = trace("trace_pre", &in_seq, trace_pre, options.tau_pre)?;
        let tr_post = trace("trace_post", &out_seq, trace_post, options.tau_post)?;
        let (s_in, s_out) = (in_seq.get(0), out_seq.get(0));
        let w = synapse.weight();
        let post = s_out.unsqueeze(2) * tr_pre.unsqueeze(1);
        let pre = tr_post.unsqueeze(2) * s_in.unsqueeze(1);
        let e = weighted(&options.f_post, w, post) - weighted(&options.f_pre, w, pre);
        let un = |x: Tensor| if unbatched { x.squeeze_dim(0) } else { x };
        Ok((un(tr_pre), un(tr_post), un(e)))
    })
}

/// The functional forms by SpikingJelly's names: the layer, the step's spikes, the traces before
/// the step (`None`: zeros) and the options; `(trace_pre, trace_post, delta_w or eligibility)`.
macro_rules! by_layer {
    ($($(#[$doc:meta])* $name:ident($layer:ty) => $rule:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(
            layer: &$layer,
            in_spike: &Tensor,
            out_spike: &Tensor,
            trace_pre: Option<&Tensor>,
            trace_post: Option<&Tensor>,
            options: &StdpOptions,
        ) -> Result<(Tensor, Tensor, Tensor)> {
            let synapse = Synapse::of(layer)?;
            $rule(stringify!($name), &synapse, in_spike, out_spike, trace_pre, trace_post, options)
        }
    )*};
}

by_layer! {
    /// `stdp_linear_single_step(fc, in_spike, out_spike, trace_pre, trace_post, tau_pre, tau_post,
    /// f_pre, f_post)`: spikes `[N, N_in]` and `[N, N_out]`, traces of those shapes; `delta_w
    /// [N_out, N_in]` summed over the batch.
    stdp_linear_single_step(Linear) => single_step;
    /// `stdp_conv2d_single_step(conv, ...)`: spikes `[N, C_in, H, W]` in, `[N, C_out, H_out, W_out]`
    /// out; `trace_pre` lives on the padded input (`[N, C_in, H + 2·pH, W + 2·pW]`, padded as the
    /// convolution pads), `trace_post` on the output.
    stdp_conv2d_single_step(Conv2d) => single_step;
    /// `stdp_conv1d_single_step(conv, ...)`: as [`stdp_conv2d_single_step`] with `[N, C, L]` spikes.
    stdp_conv1d_single_step(Conv1d) => single_step;
    /// `mstdp_linear_single_step(fc, in_spike, out_spike, trace_pre, trace_post, tau_pre,
    /// tau_post, f_pre, f_post)` (Florian 2007): traces decay by `e^(−1/τ)`; the eligibility is per
    /// sample, `[N, N_out, N_in]` (`[N_out, N_in]` for unbatched `[N_in]`/`[N_out]` spikes).
    mstdp_linear_single_step(Linear) => eligibility;
    /// `mstdpet_linear_single_step(fc, ...)`: the eligibility of MSTDPET, the same formula as
    /// [`mstdp_linear_single_step`]; its time constant `tau_trace` belongs to the eligibility
    /// trace, which [`MSTDPETLearner`](super::MSTDPETLearner) keeps (SpikingJelly 0.0.0.0.14 took
    /// `tau_trace` here and ignored it, and accepted only unbatched spikes; sj takes `[N_in]` and
    /// `[N, N_in]`).
    mstdpet_linear_single_step(Linear) => eligibility;
}
