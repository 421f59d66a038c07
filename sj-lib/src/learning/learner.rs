//! The learners: they record a synapse's input and a neuron's output through monitors, and turn
//! the records into a weight change at `step`.
use super::stdp::{eligibility, Synapse};
use super::{Decay, StdpOptions};
use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::get_module;
use crate::layer::Linear;
use crate::monitor::{InputMonitor, Instance, OutputMonitor};
use tch::Tensor;

/// How many forward calls a learner records between two `step`s or `reset`s. Records are kept
/// until `step` consumes them; past this many, `step` is an error (nothing grows without bound,
/// and no record is lost silently).
pub const MAX_RECORDS: usize = 1024;

/// The recording half every learner shares.
#[derive(Debug)]
struct Recorder {
    name: &'static str,
    step_mode: StepMode,
    synapse: Synapse,
    input: InputMonitor,
    output: OutputMonitor,
}

impl Recorder {
    fn new(
        name: &'static str,
        step_mode: StepMode,
        net: &dyn Module,
        synapse: &str,
        sn: &str,
    ) -> Result<Self> {
        let named = |e: SjError| SjError::config(name, e.to_string());
        let layer = get_module(net, synapse).map_err(named)?;
        if layer.step_mode() != step_mode {
            return Err(SjError::config(
                name,
                format!(
                    "the learner's step_mode is '{step_mode}' but the synapse {synapse:?} runs in '{}'",
                    layer.step_mode()
                ),
            ));
        }
        let synapse_rule = Synapse::of(layer).map_err(named)?;
        get_module(net, sn).map_err(named)?;
        let input = InputMonitor::new(net, Instance::layers([synapse]))
            .and_then(|m| m.with_max_records(MAX_RECORDS))
            .map_err(named)?;
        let output = OutputMonitor::new(net, Instance::layers([sn]))
            .and_then(|m| m.with_max_records(MAX_RECORDS))
            .map_err(named)?;
        Ok(Recorder {
            name,
            step_mode,
            synapse: synapse_rule,
            input,
            output,
        })
    }

    /// Takes every pending (input, output) record pair, oldest first, and clears the monitors.
    fn take(&self) -> Result<Vec<(Tensor, Tensor)>> {
        let lost = self.input.dropped() + self.output.dropped();
        let (ins, outs) = (self.input.records()?, self.output.records()?);
        self.clear();
        if lost > 0 {
            return Err(SjError::config(
                self.name,
                format!(
                    "more than {MAX_RECORDS} forward calls were recorded without step() or reset(); the oldest were dropped and the records cleared. Call step() (or reset()) after every batch"
                ),
            ));
        }
        if ins.is_empty() {
            return Err(SjError::config(
                self.name,
                "nothing was recorded since the last step: run the network forward first (is the learner disabled?)",
            ));
        }
        if ins.len() != outs.len() {
            return Err(SjError::config(
                self.name,
                format!(
                    "{} synapse inputs but {} neuron outputs were recorded: the neuron must run once per synapse call",
                    ins.len(),
                    outs.len()
                ),
            ));
        }
        Ok(ins.into_iter().zip(outs).collect())
    }

    /// The records as one `[T, N, ...]` sequence each: single-step records stacked, multi-step
    /// ones concatenated in time.
    fn sequence(&self, pairs: Vec<(Tensor, Tensor)>) -> Result<(Tensor, Tensor)> {
        let (ins, outs): (Vec<Tensor>, Vec<Tensor>) = pairs.into_iter().unzip();
        let join = |what: &str, v: &[Tensor]| -> Result<Tensor> {
            let first = v[0].size();
            if v.iter().any(|t| t.size() != first) {
                return Err(SjError::config(
                    self.name,
                    format!("the recorded {what}s change shape between calls (another batch size without reset()?)"),
                ));
            }
            Ok(match self.step_mode {
                StepMode::S => Tensor::stack(v, 0),
                StepMode::M => Tensor::cat(v, 0),
            })
        };
        Ok((join("input", &ins)?, join("output", &outs)?))
    }

    fn clear(&self) {
        self.input.clear_recorded_data();
        self.output.clear_recorded_data();
    }

    fn enable(&self) {
        self.input.enable();
        self.output.enable();
    }

    fn disable(&self) {
        self.input.disable();
        self.output.disable();
    }

    /// Returns `scale·Δw`, or subtracts it from the weight's gradient (creating it) and returns
    /// `None`, so that SGD(lr, momentum 0) applies `w += lr·scale·Δw`.
    fn finish(&self, dw: Tensor, on_grad: bool, scale: f64) -> Result<Option<Tensor>> {
        if !scale.is_finite() {
            return Err(SjError::config(
                self.name,
                format!("scale must be finite, got {scale}"),
            ));
        }
        let dw = dw * scale;
        if !on_grad {
            return Ok(Some(dw));
        }
        let w = self.synapse.weight();
        if !w.requires_grad() {
            return Err(SjError::config(
                self.name,
                "step(on_grad=true) needs a weight that requires grad (a VarStore variable); use on_grad=false to get delta_w",
            ));
        }
        // d/dw Σ w⊙(−Δw) = −Δw, accumulated into w.grad by autograd (which creates it if needed).
        (w * dw.neg().detach())
            .sum(w.kind())
            .f_backward()
            .map_err(|e| SjError::config(self.name, format!("writing the gradient: {e}")))?;
        Ok(None)
    }
}

/// `STDPLearner(step_mode, synapse, sn, tau_pre, tau_post, f_pre, f_post)`: STDP on the Linear,
/// Conv1d or Conv2d module at path `synapse` of `net` with the output spikes of the neuron at
/// path `sn`. Every forward of the network records the synapse's input and the neuron's
/// output; [`STDPLearner::step`] turns the pending records into `Δw` (traces continue across
/// steps until [`STDPLearner::reset`]).
///
/// The tutorial's loop, per time step (`'s'`) or per sequence (`'m'`):
/// `optimizer.zero_grad(); net.forward(x)?; learner.step(true, 1.0)?; optimizer.step()?;` and
/// after each batch `reset_net(&mut net); learner.reset();`.
#[derive(Debug)]
pub struct STDPLearner {
    recorder: Recorder,
    options: StdpOptions,
    trace_pre: Option<Tensor>,
    trace_post: Option<Tensor>,
}

impl STDPLearner {
    /// Hooks the monitors; errors for an unknown path, a synapse that is not Linear/Conv1d/Conv2d
    /// (or has dilation or groups), or a step mode other than the synapse's.
    pub fn new(
        step_mode: StepMode,
        net: &dyn Module,
        synapse: &str,
        sn: &str,
        options: StdpOptions,
    ) -> Result<Self> {
        options.check("STDPLearner", Decay::Euler)?;
        Ok(STDPLearner {
            recorder: Recorder::new("STDPLearner", step_mode, net, synapse, sn)?,
            options,
            trace_pre: None,
            trace_post: None,
        })
    }

    /// `step(on_grad, scale)`: consumes the pending records. `on_grad = false` returns
    /// `scale·Δw`; `on_grad = true` subtracts it from the weight's gradient and returns `None`.
    pub fn step(&mut self, on_grad: bool, scale: f64) -> Result<Option<Tensor>> {
        let r = &self.recorder;
        let (x, y) = r.sequence(r.take()?)?;
        let (tr_pre, tr_post, dw) = tch::no_grad(|| {
            r.synapse.stdp(
                r.name,
                &x,
                &y,
                self.trace_pre.as_ref(),
                self.trace_post.as_ref(),
                &self.options,
            )
        })?;
        self.trace_pre = Some(tr_pre);
        self.trace_post = Some(tr_post);
        r.finish(dw, on_grad, scale)
    }

    /// The presynaptic and postsynaptic traces (`None` before the first step after a reset).
    pub fn traces(&self) -> (Option<&Tensor>, Option<&Tensor>) {
        (self.trace_pre.as_ref(), self.trace_post.as_ref())
    }

    /// Clears the traces and the pending records (not the weight, its gradient or the network).
    pub fn reset(&mut self) {
        self.trace_pre = None;
        self.trace_post = None;
        self.recorder.clear();
    }

    /// Starts recording again (records and traces are kept).
    pub fn enable(&self) {
        self.recorder.enable();
    }

    /// Stops recording (records and traces are kept).
    pub fn disable(&self) {
        self.recorder.disable();
    }
}

/// The reward a step receives: one value, or one per sample.
fn reward_weights(
    name: &str,
    reward: &Tensor,
    like: &Tensor,
    batch: Option<i64>,
) -> Result<Tensor> {
    let r = reward.to_kind(like.kind()).to_device(like.device());
    match (r.numel() as i64, batch) {
        (1, _) => Ok(r.reshape([1])),
        (n, Some(b)) if n == b => Ok(r.reshape([n])),
        (n, _) => Err(SjError::config(
            name,
            format!(
                "reward has {n} values; give one, or one per sample{}",
                batch.map_or(String::new(), |b| format!(" ({b})"))
            ),
        )),
    }
}

/// `Σ_b reward[b]·x[b]` for batched `[B, O, I]`, `reward·x` for unbatched `[O, I]`.
fn rewarded(reward: &Tensor, x: &Tensor) -> Tensor {
    if x.dim() == 3 {
        (reward.view([-1, 1, 1]) * x).sum_dim_intlist(0, false, x.kind())
    } else {
        reward.view([1, 1]) * x
    }
}

/// What both reward learners keep: the recorder, the options, the traces and the eligibility.
#[derive(Debug)]
struct RewardRule {
    recorder: Recorder,
    options: StdpOptions,
    trace_pre: Option<Tensor>,
    trace_post: Option<Tensor>,
    eligibility: Option<Tensor>,
}

impl RewardRule {
    fn new(
        name: &'static str,
        net: &dyn Module,
        synapse: &str,
        sn: &str,
        options: StdpOptions,
    ) -> Result<Self> {
        options.check(name, Decay::Exp)?;
        linear_synapse(name, net, synapse)?;
        Ok(RewardRule {
            recorder: Recorder::new(name, StepMode::S, net, synapse, sn)?,
            options,
            trace_pre: None,
            trace_post: None,
            eligibility: None,
        })
    }

    /// Consumes the pending records in order: for each, `Δw += weight_change(reward, previous
    /// eligibility)` (from the second step after a reset), then the traces and the eligibility are
    /// updated from the record's spikes.
    fn step(
        &mut self,
        reward: &Tensor,
        on_grad: bool,
        scale: f64,
        mut weight_change: impl FnMut(&Tensor, &Tensor) -> Tensor,
    ) -> Result<Option<Tensor>> {
        let r = &self.recorder;
        let pairs = r.take()?;
        let w = r.synapse.weight();
        let batch = (pairs[0].0.dim() == 2).then(|| pairs[0].0.size()[0]);
        let reward = reward_weights(r.name, reward, w, batch)?;
        let mut dw = Tensor::zeros_like(w);
        tch::no_grad(|| -> Result<()> {
            for (x, y) in &pairs {
                if let Some(e) = &self.eligibility {
                    dw += weight_change(&reward, e);
                }
                let (tr_pre, tr_post, e) = eligibility(
                    r.name,
                    &r.synapse,
                    x,
                    y,
                    self.trace_pre.as_ref(),
                    self.trace_post.as_ref(),
                    &self.options,
                )?;
                (self.trace_pre, self.trace_post, self.eligibility) =
                    (Some(tr_pre), Some(tr_post), Some(e));
            }
            Ok(())
        })?;
        r.finish(dw, on_grad, scale)
    }

    fn reset(&mut self) {
        (self.trace_pre, self.trace_post, self.eligibility) = (None, None, None);
        self.recorder.clear();
    }
}

/// `MSTDPLearner(step_mode='s', synapse, sn, tau_pre, tau_post, f_pre, f_post)` (Florian 2007):
/// reward-modulated STDP on a Linear synapse in single-step mode. At each recorded step the
/// reward multiplies the eligibility of the previous step (`Δw = Σ_b reward[b]·e[b]`), then the
/// traces and the eligibility are updated from the step's spikes. The reward is one value or
/// one per sample. `reset()` clears the eligibility too (SpikingJelly 0.0.0.0.14 kept it, so the
/// first reward after a reset multiplied stale eligibility); no `batch_size` argument is needed.
#[derive(Debug)]
pub struct MSTDPLearner {
    rule: RewardRule,
}

/// The synapse at `path` must be a `Linear` for the reward rules.
fn linear_synapse<'a>(name: &str, net: &'a dyn Module, path: &str) -> Result<&'a Linear> {
    get_module(net, path)
        .map_err(|e| SjError::config(name, e.to_string()))?
        .as_any()
        .and_then(|a| a.downcast_ref::<Linear>())
        .ok_or_else(|| {
            SjError::config(
                name,
                format!("the reward rules are defined for a Linear synapse; {path:?} is not one"),
            )
        })
}

impl MSTDPLearner {
    /// Hooks the monitors; the synapse must be a `Linear` running in step mode `'s'`.
    pub fn new(net: &dyn Module, synapse: &str, sn: &str, options: StdpOptions) -> Result<Self> {
        Ok(MSTDPLearner {
            rule: RewardRule::new("MSTDPLearner", net, synapse, sn, options)?,
        })
    }

    /// `step(reward, on_grad, scale)`: consumes the pending records (each with this reward).
    pub fn step(&mut self, reward: &Tensor, on_grad: bool, scale: f64) -> Result<Option<Tensor>> {
        self.rule.step(reward, on_grad, scale, rewarded)
    }

    /// The eligibility after the last step (`[N, N_out, N_in]`, or `[N_out, N_in]` unbatched).
    pub fn eligibility(&self) -> Option<&Tensor> {
        self.rule.eligibility.as_ref()
    }

    /// Clears the traces, the eligibility and the pending records.
    pub fn reset(&mut self) {
        self.rule.reset();
    }

    /// Starts recording again.
    pub fn enable(&self) {
        self.rule.recorder.enable();
    }

    /// Stops recording.
    pub fn disable(&self) {
        self.rule.recorder.disable();
    }
}

/// `MSTDPETLearner(step_mode='s', synapse, sn, tau_pre, tau_post, tau_trace, f_pre, f_post)`
/// (Florian 2007, with an eligibility trace): at each recorded step the eligibility trace
/// becomes `z = z·e^(−1/tau_trace) + e_prev/tau_trace` and `Δw = reward·z` (summed over samples
/// for batched spikes), then the traces and the eligibility are updated from the step's spikes.
/// `reset()` clears everything, the eligibility included.
#[derive(Debug)]
pub struct MSTDPETLearner {
    rule: RewardRule,
    tau_trace: f64,
    trace_e: Option<Tensor>,
}

impl MSTDPETLearner {
    /// Hooks the monitors; the synapse must be a `Linear` running in step mode `'s'`, and
    /// `tau_trace` finite and positive.
    pub fn new(
        net: &dyn Module,
        synapse: &str,
        sn: &str,
        options: StdpOptions,
        tau_trace: f64,
    ) -> Result<Self> {
        let name = "MSTDPETLearner";
        Decay::Exp.check(name, "tau_trace", tau_trace)?;
        Ok(MSTDPETLearner {
            rule: RewardRule::new(name, net, synapse, sn, options)?,
            tau_trace,
            trace_e: None,
        })
    }

    /// `step(reward, on_grad, scale)`: consumes the pending records (each with this reward).
    pub fn step(&mut self, reward: &Tensor, on_grad: bool, scale: f64) -> Result<Option<Tensor>> {
        let (tau, decay) = (self.tau_trace, Decay::Exp.factor(self.tau_trace));
        let trace_e = &mut self.trace_e;
        self.rule.step(reward, on_grad, scale, |reward, e| {
            let z = match trace_e.as_ref() {
                Some(z) => z * decay + e / tau,
                None => e / tau,
            };
            let dw = rewarded(reward, &z);
            *trace_e = Some(z);
            dw
        })
    }

    /// The eligibility trace `z` after the last step.
    pub fn trace_e(&self) -> Option<&Tensor> {
        self.trace_e.as_ref()
    }

    /// Clears the traces, the eligibility, the eligibility trace and the pending records.
    pub fn reset(&mut self) {
        self.rule.reset();
        self.trace_e = None;
    }

    /// Starts recording again.
    pub fn enable(&self) {
        self.rule.recorder.enable();
    }

    /// Stops recording.
    pub fn disable(&self) {
        self.rule.recorder.disable();
    }
}
