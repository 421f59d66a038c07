//! `Sequential`: modules applied in order, named `"0"`, `"1"`, ... like `torch.nn.Sequential`.
use crate::base::Hooks;
use crate::base::{Module, StepMode};
use crate::error::Result;
use tch::Tensor;

/// Runs its modules in order. It has no step mode of its own: `functional::set_step_mode`
/// reaches its children, and each child sees what the previous one returned (through the
/// forward [`Hooks`] monitors register).
#[derive(Debug, Default)]
pub struct Sequential {
    modules: Vec<Box<dyn Module>>,
    step_mode: StepMode,
    hooks: Hooks,
}

impl Sequential {
    /// An empty container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module (builder style); it is named by its index.
    #[allow(clippy::should_implement_trait)]
    pub fn add<M: Module + 'static>(mut self, module: M) -> Self {
        self.modules.push(Box::new(module));
        self
    }

    /// Appends a boxed module.
    pub fn push(&mut self, module: Box<dyn Module>) {
        self.modules.push(module);
    }

    /// Number of modules.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The module at `index`.
    pub fn get(&self, index: usize) -> Option<&dyn Module> {
        self.modules.get(index).map(|m| m.as_ref())
    }

    /// The module at `index`, mutably.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut (dyn Module + 'static)> {
        self.modules.get_mut(index).map(|m| m.as_mut())
    }
}

impl Module for Sequential {
    fn type_name(&self) -> &'static str {
        "Sequential"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.shallow_clone();
        for (i, m) in self.modules.iter_mut().enumerate() {
            y = self.hooks.call(&i.to_string(), m.as_mut(), &y)?;
        }
        Ok(y)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn set_training(&mut self, _training: bool) {}
    fn extra_repr(&self) -> String {
        String::new()
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.modules
            .iter()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_ref() as &dyn Module))
            .collect()
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.modules
            .iter_mut()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m.as_mut() as &mut dyn Module))
            .collect()
    }
    fn hooks(&self) -> Option<&Hooks> {
        Some(&self.hooks)
    }
    fn child_slots_mut(&mut self) -> Vec<(String, &mut Box<dyn Module>)> {
        self.modules
            .iter_mut()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m))
            .collect()
    }
}
