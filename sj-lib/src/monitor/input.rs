//! `InputMonitor`: records what the monitored modules receive.
use super::{monitor_common, BaseMonitor, Instance};
use crate::base::Module;
use crate::error::Result;
use std::sync::Arc;
use tch::Tensor;

/// `InputMonitor(net, instance, function_on_input)`: records `function_on_input(input)` of every
/// module chosen by `instance`, after its forward (for a neuron, its synaptic input current).
pub struct InputMonitor(BaseMonitor);

impl InputMonitor {
    /// Hooks every module of `net` chosen by `instance`; records the input as is.
    pub fn new(net: &dyn Module, instance: impl Into<Instance>) -> Result<Self> {
        let mut base = BaseMonitor::new("input");
        let state = base.state.clone();
        base.attach(net, instance.into(), |hooks, target| {
            let (state, layer) = (state.clone(), target.layer);
            Ok(hooks.register_post(target.child, move |m, x, _| {
                BaseMonitor::record(&state, layer, m, x)?;
                Ok(None)
            }))
        })?;
        Ok(InputMonitor(base))
    }

    /// `function_on_input=`: what to record instead of the input itself.
    pub fn with_function_on_input(
        self,
        f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Self {
        self.0.set_function(Arc::new(f));
        self
    }
}

monitor_common!(InputMonitor);
