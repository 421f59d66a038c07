//! `GradInputMonitor` and `GradOutputMonitor`: record ∂L/∂X and ∂L/∂Y of the monitored modules.
//!
//! tch has no tensor hooks, so a gradient is caught by a probe: the forward hook adds a zero leaf
//! tensor `z` (with `requires_grad`) to the module's input (∂L/∂X) or output (∂L/∂Y). The values
//! do not change, and `loss.backward()` leaves exactly that gradient in `z.grad()`. The probes are
//! read when the monitor is next asked for its records, or when the next forward through a
//! monitored module finds that `backward` has run, and become records in reverse creation order:
//! the last layer first, the order of SpikingJelly's backward hooks. A probe is a leaf, so it
//! keeps no graph alive; probes of a forward that was never backpropagated are dropped once a
//! later probe gets its gradient, and at most `max_records` wait (each as large as the tensor it
//! probes), so evaluate under `no_grad` or `disable()` the monitor. Nothing is probed when the
//! tensor does not require grad (under `no_grad`, or an input that is data).
use super::{monitor_common, BaseMonitor, Instance, Probe, State};
use crate::base::lock;
use crate::base::{Module, StepMode};
use crate::error::Result;
use std::sync::{Arc, Mutex};
use tch::Tensor;

fn has_grad(p: &Probe) -> bool {
    p.leaf.f_grad().map(|g| g.defined()).unwrap_or(false)
}

impl State {
    /// Moves the probes up to the newest one that has its gradient into the records, newest
    /// first; older probes without a gradient were never backpropagated and are dropped.
    pub(super) fn collect_probes(&mut self) -> Result<()> {
        let Some(newest) = self.probes.iter().rposition(has_grad) else {
            return Ok(());
        };
        let done: Vec<Probe> = self.probes.drain(..=newest).collect();
        let function = self.function.clone();
        for p in done.into_iter().rev() {
            let grad = p.leaf.f_grad()?;
            if grad.defined() {
                let value = tch::no_grad(|| function(&grad)).detach();
                self.push(p.layer, p.multi_step, value)?;
            }
        }
        Ok(())
    }
}

/// The hook of both monitors: returns `t + z` for a new probe `z` of `layer`.
fn probe(state: &Mutex<State>, layer: usize, m: &dyn Module, t: &Tensor) -> Result<Option<Tensor>> {
    if !t.requires_grad() {
        return Ok(None);
    }
    let mut s = lock(state);
    if !s.enabled {
        return Ok(None);
    }
    if s.probes.back().is_some_and(has_grad) {
        s.collect_probes()?;
    }
    let leaf = t.f_zeros_like()?.f_set_requires_grad(true)?;
    let probed = t.f_add(&leaf)?;
    s.probes.push_back(Probe {
        layer,
        multi_step: m.step_mode() == StepMode::M,
        leaf,
    });
    while s.probes.len() > s.store.max_records() {
        s.probes.pop_front();
        s.dropped_probes += 1;
    }
    Ok(Some(probed))
}

/// `GradInputMonitor(net, instance, function_on_grad_input)`: records
/// `function_on_grad_input(∂L/∂X)` for the input X of every module chosen by `instance`, after
/// `backward` (see the module docs for how).
pub struct GradInputMonitor(BaseMonitor);

impl GradInputMonitor {
    /// Probes the input of every module of `net` chosen by `instance`.
    pub fn new(net: &dyn Module, instance: impl Into<Instance>) -> Result<Self> {
        let mut base = BaseMonitor::new("grad_input");
        let state = base.state.clone();
        base.attach(net, instance.into(), |hooks, target| {
            let (state, layer) = (state.clone(), target.layer);
            Ok(hooks.register_pre(target.child, move |m, x| probe(&state, layer, m, x)))
        })?;
        Ok(GradInputMonitor(base))
    }

    /// `function_on_grad_input=`, e.g. the norm `|g| g.norm()`.
    pub fn with_function_on_grad_input(
        self,
        f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Self {
        self.0.set_function(Arc::new(f));
        self
    }
}

monitor_common!(GradInputMonitor);

/// `GradOutputMonitor(net, instance, function_on_grad_output)`: records
/// `function_on_grad_output(∂L/∂Y)` for the output Y of every module chosen by `instance`, after
/// `backward` (see the module docs for how).
pub struct GradOutputMonitor(BaseMonitor);

impl GradOutputMonitor {
    /// Probes the output of every module of `net` chosen by `instance`.
    pub fn new(net: &dyn Module, instance: impl Into<Instance>) -> Result<Self> {
        let mut base = BaseMonitor::new("grad_output");
        let state = base.state.clone();
        base.attach(net, instance.into(), |hooks, target| {
            let (state, layer) = (state.clone(), target.layer);
            Ok(hooks.register_post(target.child, move |m, _, y| probe(&state, layer, m, y)))
        })?;
        Ok(GradOutputMonitor(base))
    }

    /// `function_on_grad_output=`.
    pub fn with_function_on_grad_output(
        self,
        f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Self {
        self.0.set_function(Arc::new(f));
        self
    }
}

monitor_common!(GradOutputMonitor);
