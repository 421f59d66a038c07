//! `activation_based.monitor`: record what the layers of a net see and produce (inventory §2.7).
//!
//! A monitor registers [`Hooks`](crate::base::Hooks) in the containers of a net (`Sequential`, the step-mode and
//! recurrent containers) around every child of the chosen [`Instance`] (a module type such as
//! `"IFNode"`, or layer names). Records are kept in creation order, can be read by index
//! ([`BaseMonitor::get`]) or by layer name ([`BaseMonitor::layer`]), and export to a polars
//! `DataFrame`, CSV and Parquet.
//!
//! Differences from SpikingJelly, all to keep long runs safe:
//! * records are detached copies (they never keep an autograd graph alive), and
//!   `function_on_*` runs on the detached value under `no_grad`;
//! * at most [`DEFAULT_MAX_RECORDS`] records are kept (the oldest are dropped and counted by
//!   [`BaseMonitor::dropped`]); change it with `with_max_records`, or stream running statistics
//!   per layer and time step with `with_summary` ([`BaseMonitor::summary`]);
//! * the root net itself cannot be monitored (nothing calls it through a container): wrap it in a
//!   [`Sequential`](crate::layer::Sequential).
//!
//! ```
//! use sj::prelude::*;
//! let vs = nn::VarStore::new(Device::Cpu);
//! let mut net = Sequential::new().add(Linear::new(&(vs.root() / "0"), 8, 4, true).unwrap()).add(IFNode::new());
//! let mon = OutputMonitor::new(&net, "IFNode").unwrap();
//! net.forward(&Tensor::rand([2, 8], (Kind::Float, Device::Cpu))).unwrap();
//! assert_eq!(mon.monitored_layers(), ["1"]);
//! assert_eq!(mon.layer("1").unwrap()[0].size(), [2, 4]);
//! assert!(mon.layer("0").is_err());
//! ```
mod attribute;
mod gpu;
mod grad;
mod input;
mod output;
mod records;

pub use attribute::AttributeMonitor;
pub use gpu::{GPUMonitor, GpuReading, GpuSample};
pub use grad::{GradInputMonitor, GradOutputMonitor};
pub use input::InputMonitor;
pub use output::OutputMonitor;
pub use records::DEFAULT_MAX_RECORDS;

use crate::base::{lock, HookHandle, Hooks, Module, StepMode};
use crate::error::{Result, SjError};
use polars::prelude::DataFrame;
use records::{Record, Store};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tch::Tensor;

/// A `function_on_*`: applied to every recorded tensor (SpikingJelly's default is the identity).
pub type MonitorFunction = Arc<dyn Fn(&Tensor) -> Tensor + Send + Sync>;

/// Which modules a monitor watches: SpikingJelly's `instance` (module types), or layer names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instance {
    /// Every module whose [`Module::type_name`] is one of these, e.g. `["IFNode", "LIFNode"]`.
    Types(Vec<String>),
    /// These layers, by their dotted `named_modules` name, e.g. `["1", "3"]`.
    Layers(Vec<String>),
}

impl Instance {
    /// Modules of these types.
    pub fn types<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Instance::Types(names.into_iter().map(|s| s.as_ref().to_string()).collect())
    }

    /// These layers by name.
    pub fn layers<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Instance::Layers(names.into_iter().map(|s| s.as_ref().to_string()).collect())
    }
}

impl From<&str> for Instance {
    /// One module type, e.g. `"IFNode"`.
    fn from(type_name: &str) -> Self {
        Instance::types([type_name])
    }
}

impl<const K: usize> From<[&str; K]> for Instance {
    /// Several module types (SpikingJelly's tuple `instance`).
    fn from(type_names: [&str; K]) -> Self {
        Instance::types(type_names)
    }
}

/// A tensor recorded by a gradient monitor's probe, waiting for `backward` to fill its gradient.
struct Probe {
    layer: usize,
    multi_step: bool,
    leaf: Tensor,
}

/// What a monitor and its hooks share.
struct State {
    enabled: bool,
    function: MonitorFunction,
    store: Store,
    steps: Vec<i64>,
    probes: VecDeque<Probe>,
    /// Probes pushed out by the cap before `backward` reached them.
    dropped_probes: u64,
}

impl State {
    /// Stores `value` as the next record of `layer`.
    fn push(&mut self, layer: usize, multi_step: bool, tensor: Tensor) -> Result<()> {
        let step = self.steps[layer];
        self.steps[layer] += 1;
        self.store.push(Record {
            layer,
            step,
            multi_step,
            tensor,
        })
    }
}

/// A module the monitor will hook: where it sits and which container calls it.
struct Site<'a> {
    path: String,
    child: String,
    parent: &'a dyn Module,
    module: &'a dyn Module,
}

fn sites<'a>(prefix: &str, parent: &'a dyn Module, out: &mut Vec<Site<'a>>) {
    for (child, module) in parent.children() {
        let path = if prefix.is_empty() {
            child.clone()
        } else {
            format!("{prefix}.{child}")
        };
        out.push(Site {
            path: path.clone(),
            child,
            parent,
            module,
        });
        sites(&path, module, out);
    }
}

/// One module a monitor hooks, as its `register` callback sees it.
struct Target<'a> {
    /// The name its container calls it by.
    child: &'a str,
    /// Its dotted `named_modules` name.
    path: &'a str,
    /// Its index in `monitored_layers`.
    layer: usize,
    module: &'a dyn Module,
}

/// The modules of `net` chosen by `instance`, each with the hooks of the container that calls it.
fn select<'a>(net: &'a dyn Module, instance: &Instance) -> Result<Vec<(Site<'a>, &'a Hooks)>> {
    let mut all = Vec::new();
    sites("", net, &mut all);
    let chosen: Vec<Site> = match instance {
        Instance::Types(types) => {
            let mut present: Vec<&str> = Vec::new();
            for s in &all {
                if !present.contains(&s.module.type_name()) {
                    present.push(s.module.type_name());
                }
            }
            let chosen: Vec<Site> = all
                .into_iter()
                .filter(|s| types.iter().any(|t| t == s.module.type_name()))
                .collect();
            if chosen.is_empty() {
                return Err(SjError::NotFound {
                    what: "module type".into(),
                    name: types.join("', '"),
                    hint: format!(
                        " below the root of {} (types there: {}; the root itself cannot be monitored)",
                        net.type_name(),
                        present.join(", ")
                    ),
                });
            }
            chosen
        }
        Instance::Layers(names) => {
            if let Some(missing) = names.iter().find(|n| !all.iter().any(|s| &s.path == *n)) {
                let layers: Vec<&str> = all.iter().map(|s| s.path.as_str()).collect();
                return Err(SjError::NotFound {
                    what: "layer".into(),
                    name: missing.clone(),
                    hint: format!(" in {} (layers: {})", net.type_name(), layers.join(", ")),
                });
            }
            all.into_iter()
                .filter(|s| names.contains(&s.path))
                .collect()
        }
    };
    chosen
        .into_iter()
        .map(|s| match s.parent.hooks() {
            Some(hooks) => Ok((s, hooks)),
            None => Err(SjError::config(
                s.parent.type_name(),
                format!(
                    "layer '{}' ({}) cannot be monitored: {} does not run forward hooks around its children",
                    s.path,
                    s.module.type_name(),
                    s.parent.type_name()
                ),
            )),
        })
        .collect()
}

/// What every monitor shares (`BaseMonitor`): the records, the monitored layers, enable/disable
/// and the hooks. The concrete monitors dereference to it.
pub struct BaseMonitor {
    state: Arc<Mutex<State>>,
    handles: Vec<HookHandle>,
    monitored_layers: Vec<String>,
    statistic: String,
}

impl BaseMonitor {
    /// A monitor recording `statistic` with no hooks yet.
    fn new(statistic: &str) -> Self {
        BaseMonitor {
            state: Arc::new(Mutex::new(State {
                enabled: true,
                function: Arc::new(Tensor::shallow_clone),
                store: Store::new(),
                steps: Vec::new(),
                probes: VecDeque::new(),
                dropped_probes: 0,
            })),
            handles: Vec::new(),
            monitored_layers: Vec::new(),
            statistic: statistic.to_string(),
        }
    }

    /// Hooks every module of `net` chosen by `instance`: `register(hooks, target)` registers
    /// the hook of one monitored module in the hooks of the container that calls it.
    fn attach(
        &mut self,
        net: &dyn Module,
        instance: Instance,
        mut register: impl FnMut(&Hooks, Target) -> Result<HookHandle>,
    ) -> Result<()> {
        let chosen = select(net, &instance)?;
        for (layer, (site, hooks)) in chosen.iter().enumerate() {
            let target = Target {
                child: &site.child,
                path: &site.path,
                layer,
                module: site.module,
            };
            match register(hooks, target) {
                Ok(handle) => self.handles.push(handle),
                Err(e) => {
                    self.remove_hooks();
                    return Err(e);
                }
            }
        }
        self.monitored_layers = chosen.into_iter().map(|(s, _)| s.path).collect();
        lock(&self.state).steps = vec![0; self.monitored_layers.len()];
        Ok(())
    }

    /// Applies the monitor's function to a detached `value` and stores it as a record of `layer`
    /// (nothing while disabled).
    fn record(
        state: &Mutex<State>,
        layer: usize,
        module: &dyn Module,
        value: &Tensor,
    ) -> Result<()> {
        let function = {
            let s = lock(state);
            if !s.enabled {
                return Ok(());
            }
            s.function.clone()
        };
        let value = tch::no_grad(|| function(&value.detach())).detach();
        lock(state).push(layer, module.step_mode() == StepMode::M, value)
    }

    fn set_function(&self, function: MonitorFunction) {
        lock(&self.state).function = function;
    }

    /// Locks the state after moving any finished gradient probes into the records.
    fn ready(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        let mut s = lock(&self.state);
        s.collect_probes()?;
        Ok(s)
    }

    /// `monitored_layers`: the names of the monitored modules, in `named_modules` order.
    pub fn monitored_layers(&self) -> &[String] {
        &self.monitored_layers
    }

    /// The column holding the recorded values in [`BaseMonitor::to_dataframe`], e.g. `"output"`.
    pub fn statistic(&self) -> &str {
        &self.statistic
    }

    /// `records`: every kept record in creation order (empty in summary mode).
    pub fn records(&self) -> Result<Vec<Tensor>> {
        Ok(self
            .ready()?
            .store
            .records()
            .map(|r| r.tensor.shallow_clone())
            .collect())
    }

    /// Number of kept records.
    pub fn len(&self) -> Result<usize> {
        Ok(self.ready()?.store.records().count())
    }

    /// True when no record is kept.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `monitor[i]`: the `i`-th kept record.
    pub fn get(&self, i: usize) -> Result<Tensor> {
        let s = self.ready()?;
        let record = s.store.records().nth(i).map(|r| r.tensor.shallow_clone());
        record.ok_or_else(|| SjError::NotFound {
            what: "record".into(),
            name: i.to_string(),
            hint: format!(" (the monitor keeps {} records)", s.store.records().count()),
        })
    }

    fn layer_index(&self, name: &str) -> Result<usize> {
        self.monitored_layers
            .iter()
            .position(|l| l == name)
            .ok_or_else(|| SjError::NotFound {
                what: "monitored layer".into(),
                name: name.into(),
                hint: format!(" (monitored layers: {})", self.monitored_layers.join(", ")),
            })
    }

    /// `monitor[name]`: the kept records of one layer, oldest first. Errors for a layer that is
    /// not monitored.
    pub fn layer(&self, name: &str) -> Result<Vec<Tensor>> {
        let layer = self.layer_index(name)?;
        Ok(self
            .ready()?
            .store
            .records()
            .filter(|r| r.layer == layer)
            .map(|r| r.tensor.shallow_clone())
            .collect())
    }

    /// The latest record of one layer; errors if the layer is not monitored or has no record yet.
    pub fn latest(&self, name: &str) -> Result<Tensor> {
        self.layer(name)?.pop().ok_or_else(|| {
            SjError::config(
                format!("{} monitor", self.statistic),
                format!(
                    "layer '{name}' has no recorded {} yet (run a forward first)",
                    self.statistic
                ),
            )
        })
    }

    /// `clear_recorded_data()`: drops every record, pending gradient and running statistic.
    pub fn clear_recorded_data(&self) {
        let mut s = lock(&self.state);
        s.store.clear();
        s.probes.clear();
        s.dropped_probes = 0;
        s.steps.iter_mut().for_each(|c| *c = 0);
    }

    /// `enable()`: records again.
    pub fn enable(&self) {
        lock(&self.state).enabled = true;
    }

    /// `disable()`: pauses recording.
    pub fn disable(&self) {
        lock(&self.state).enabled = false;
    }

    /// `is_enable()`.
    pub fn is_enable(&self) -> bool {
        lock(&self.state).enabled
    }

    /// `remove_hooks()`: unhooks the monitor from the net (also done when it is dropped).
    pub fn remove_hooks(&mut self) {
        for h in self.handles.drain(..) {
            h.remove();
        }
    }

    /// Keeps at most `max_records` records (the latest), dropping the oldest.
    pub fn set_max_records(&self, max_records: usize) -> Result<()> {
        lock(&self.state).store.set_max_records(max_records)
    }

    /// Switches to summary mode: no records, only running statistics per layer and time step
    /// (count, mean, min, max of the values [`BaseMonitor::to_dataframe`] would show).
    pub fn set_summary(&self) -> Result<()> {
        let mut s = lock(&self.state);
        s.collect_probes()?;
        s.store.switch_to_summary()
    }

    /// Records dropped because of the cap (for the gradient monitors, also the gradients that
    /// were still waiting for `backward` when the cap pushed them out).
    pub fn dropped(&self) -> u64 {
        let s = lock(&self.state);
        s.store.dropped() + s.dropped_probes
    }

    /// The records as a table with columns `layer` (str), `step` (i64: the layer's record
    /// number), `time` (i64) and the statistic (f64, named by [`BaseMonitor::statistic`]).
    /// A record taken in step mode `'m'` is `[T, ...]` and gives T rows, `time` = t, with the
    /// mean over the other dimensions (a spike record gives the firing rate at t); any other
    /// record gives one row with `time` = 0 and its mean. Errors in summary mode.
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        let s = self.ready()?;
        s.store
            .to_dataframe(&self.monitored_layers, &self.statistic)
    }

    /// Running statistics per layer and time step: columns `layer`, `time`, `count`, `mean`,
    /// `min`, `max` (computed from the kept records unless in summary mode).
    pub fn summary(&self) -> Result<DataFrame> {
        let s = self.ready()?;
        s.store.summary(&self.monitored_layers)
    }

    /// Writes [`BaseMonitor::to_dataframe`] as CSV.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        records::write_csv(&mut self.to_dataframe()?, path.as_ref())
    }

    /// Writes [`BaseMonitor::to_dataframe`] as Parquet.
    pub fn write_parquet(&self, path: impl AsRef<Path>) -> Result<()> {
        records::write_parquet(&mut self.to_dataframe()?, path.as_ref())
    }
}

impl Drop for BaseMonitor {
    fn drop(&mut self) {
        self.remove_hooks();
    }
}

impl std::fmt::Debug for BaseMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("BaseMonitor")
            .field("statistic", &self.statistic)
            .field("monitored_layers", &self.monitored_layers)
            .field("records", &s.store.records().count())
            .field("pending_gradients", &s.probes.len())
            .field("dropped", &(s.store.dropped() + s.dropped_probes))
            .field("enabled", &s.enabled)
            .field("hooks", &self.handles.len())
            .finish()
    }
}

/// Implements what every concrete monitor shares: `Deref` to [`BaseMonitor`], `Debug` and the
/// retention builders.
macro_rules! monitor_common {
    ($name:ident) => {
        impl std::ops::Deref for $name {
            type Target = $crate::monitor::BaseMonitor;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{:?}", stringify!($name), &self.0)
            }
        }

        impl $name {
            /// Keeps at most `max_records` records (the latest); errors for 0.
            pub fn with_max_records(self, max_records: usize) -> $crate::error::Result<Self> {
                self.0.set_max_records(max_records)?;
                Ok(self)
            }

            /// Streams running statistics instead of keeping records ([`BaseMonitor::summary`]).
            pub fn with_summary(self) -> $crate::error::Result<Self> {
                self.0.set_summary()?;
                Ok(self)
            }
        }
    };
}
use monitor_common;

#[cfg(test)]
mod tests;
