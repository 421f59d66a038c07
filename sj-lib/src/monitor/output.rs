//! `OutputMonitor`: records what the monitored modules return.
use super::{monitor_common, BaseMonitor, Instance};
use crate::base::Module;
use crate::error::Result;
use std::sync::Arc;
use tch::Tensor;

/// `OutputMonitor(net, instance, function_on_output)`: records `function_on_output(output)` of
/// every module chosen by `instance` after its forward (spikes, for a neuron type).
pub struct OutputMonitor(BaseMonitor);

impl OutputMonitor {
    /// Hooks every module of `net` chosen by `instance` (e.g. `"IFNode"`); records the output
    /// as is. Errors if nothing matches or a layer name does not exist.
    pub fn new(net: &dyn Module, instance: impl Into<Instance>) -> Result<Self> {
        let mut base = BaseMonitor::new("output");
        let state = base.state.clone();
        base.attach(net, instance.into(), |hooks, target| {
            let (state, layer) = (state.clone(), target.layer);
            Ok(hooks.register_post(target.child, move |m, _, y| {
                BaseMonitor::record(&state, layer, m, y)?;
                Ok(None)
            }))
        })?;
        Ok(OutputMonitor(base))
    }

    /// `function_on_output=`: what to record instead of the output itself, e.g. the firing rate
    /// per time step `|s| s.flatten(1, -1).mean_dim(1, false, Kind::Float)`.
    pub fn with_function_on_output(
        self,
        f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Self {
        self.0.set_function(Arc::new(f));
        self
    }
}

monitor_common!(OutputMonitor);
