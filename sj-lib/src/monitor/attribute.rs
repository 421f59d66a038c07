//! `AttributeMonitor`: records a memory of the monitored modules (`v`, `v_seq`, ...).
use super::{monitor_common, BaseMonitor, Instance};
use crate::base::Module;
use crate::error::{Result, SjError};
use std::sync::Arc;
use tch::Tensor;

/// `AttributeMonitor(attribute_name, pre_forward, net, instance, function_on_attribute)`: records
/// the memory `attribute_name` (one of [`Module::memories`], e.g. `"v"`, or `"v_seq"` of a neuron
/// built with `with_store_v_seq(true)`) before (`pre_forward`) or after each forward. Nothing is
/// recorded while the memory is still its float reset value (before the first input).
pub struct AttributeMonitor(BaseMonitor);

/// The memory `name` of `m`: `Ok(None)` while it is a float, an error if `m` has no such memory.
fn attribute(m: &dyn Module, name: &str, layer: &str) -> Result<Option<Tensor>> {
    let memories = m.memories();
    match memories.iter().find(|(n, _)| n == name) {
        Some((_, t)) => Ok(t.as_ref().map(Tensor::shallow_clone)),
        None => Err(SjError::NotFound {
            what: "attribute".into(),
            name: name.into(),
            hint: format!(
                " on layer '{layer}' ({}); its memories are: [{}] (neurons list v_seq only with store_v_seq)",
                m.type_name(),
                memories.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

impl AttributeMonitor {
    /// Hooks every module of `net` chosen by `instance`; errors if one of them has no memory
    /// `attribute_name`.
    pub fn new(
        attribute_name: &str,
        pre_forward: bool,
        net: &dyn Module,
        instance: impl Into<Instance>,
    ) -> Result<Self> {
        let mut base = BaseMonitor::new(attribute_name);
        let state = base.state.clone();
        base.attach(net, instance.into(), |hooks, target| {
            let (name, path, layer) = (
                attribute_name.to_string(),
                target.path.to_string(),
                target.layer,
            );
            attribute(target.module, &name, &path)?;
            let state = state.clone();
            let record = move |m: &dyn Module| -> Result<Option<Tensor>> {
                if let Some(value) = attribute(m, &name, &path)? {
                    BaseMonitor::record(&state, layer, m, &value)?;
                }
                Ok(None)
            };
            Ok(if pre_forward {
                hooks.register_pre(target.child, move |m, _| record(m))
            } else {
                hooks.register_post(target.child, move |m, _, _| record(m))
            })
        })?;
        Ok(AttributeMonitor(base))
    }

    /// `function_on_attribute=`: what to record instead of the attribute itself.
    pub fn with_function_on_attribute(
        self,
        f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Self {
        self.0.set_function(Arc::new(f));
        self
    }
}

monitor_common!(AttributeMonitor);
