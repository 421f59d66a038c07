//! `layer.PrintShapeModule`: prints a label and the input's shape, returns the input (debugging).
use crate::base::{Module, StepMode};
use crate::error::Result;
use tch::Tensor;

/// `PrintShapeModule(ext_str='PrintShapeModule')`: prints `ext_str` and the shape, e.g.
/// `PrintShapeModule [2, 3]`, and returns the input unchanged in either step mode.
#[derive(Debug)]
pub struct PrintShapeModule {
    ext_str: String,
    step_mode: StepMode,
}

impl Default for PrintShapeModule {
    fn default() -> Self {
        PrintShapeModule::new("PrintShapeModule")
    }
}

impl PrintShapeModule {
    /// `PrintShapeModule(ext_str)`.
    pub fn new(ext_str: impl Into<String>) -> Self {
        PrintShapeModule {
            ext_str: ext_str.into(),
            step_mode: StepMode::S,
        }
    }

    /// The line printed for `x`.
    pub fn line(&self, x: &Tensor) -> String {
        format!("{} {:?}", self.ext_str, x.size())
    }
}

impl Module for PrintShapeModule {
    fn type_name(&self) -> &'static str {
        "PrintShapeModule"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        println!("{}", self.line(x));
        Ok(x.shallow_clone())
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn returns_the_input_and_formats_the_shape_checklist_92() {
        let x = Tensor::rand([2, 3], (Kind::Float, Device::Cpu));
        let mut p = PrintShapeModule::new("after conv");
        assert!(p.forward(&x).unwrap().equal(&x));
        assert_eq!(p.line(&x), "after conv [2, 3]");
        assert_eq!(
            PrintShapeModule::default().line(&x.view([6])),
            "PrintShapeModule [6]"
        );
    }
}
