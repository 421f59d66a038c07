//! `layer.Delay`: `y[t] = x[t − delay_steps]`, zeros before that (inventory §2.4.3, checklist 99).
use crate::base::{check_dims, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::delay;
use std::collections::VecDeque;
use tch::Tensor;

/// `Delay(delay_steps)`: step mode `s` keeps the last inputs in the memory `queue` and returns
/// the one from `delay_steps` calls ago (zeros until there is one); step mode `m` shifts the
/// sequence along `T` with [`functional::delay`](crate::functional::delay), filling with zeros.
#[derive(Debug)]
pub struct Delay {
    delay_steps: i64,
    queue: VecDeque<Tensor>,
    step_mode: StepMode,
}

impl Delay {
    /// `Delay(delay_steps)`; errors if `delay_steps < 0`.
    pub fn new(delay_steps: i64) -> Result<Self> {
        if delay_steps < 0 {
            return Err(SjError::config(
                "Delay",
                format!("delay_steps must be >= 0, got {delay_steps}"),
            ));
        }
        Ok(Delay {
            delay_steps,
            queue: VecDeque::new(),
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The delay in time steps (read-only, as in SpikingJelly).
    pub fn delay_steps(&self) -> i64 {
        self.delay_steps
    }

    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        check_dims("Delay", x, 1, "[N, *]")?;
        if let Some(front) = self.queue.front() {
            if front.size() != x.size() {
                return Err(SjError::StaleState {
                    module: "Delay".into(),
                    state: front.size(),
                    input: x.size(),
                });
            }
        }
        self.queue.push_back(x.shallow_clone());
        if self.queue.len() as i64 > self.delay_steps {
            Ok(self.queue.pop_front().unwrap_or_else(|| x.zeros_like()))
        } else {
            Ok(x.zeros_like())
        }
    }
}

impl Module for Delay {
    fn type_name(&self) -> &'static str {
        "Delay"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::error::torch_guard("Delay", || match self.step_mode {
            StepMode::S => self.single_step_forward(x),
            StepMode::M => {
                check_dims("Delay", x, 1, "[T, *] in step mode 'm'")?;
                delay(x, self.delay_steps)
            }
        })
    }
    // `queue` shows as the queue stacked along a new first dimension (oldest first), `None` when
    // empty.
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "queue": queue = VecDeque::new() },
    }
    fn extra_repr(&self) -> String {
        format!(
            "delay_steps={}, step_mode={}",
            self.delay_steps, self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use tch::{Device, Kind};

    #[test]
    fn shifts_by_delay_steps_in_both_modes_checklist_99() {
        // the doc example: x [5, 2] with rows 3 and 4 zeroed, d = 1
        let x = Tensor::from_slice(&[0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0, 0.0, 0.0])
            .view([5, 2])
            .set_requires_grad(true);
        let mut m = Delay::new(1).unwrap().with_step_mode(StepMode::M);
        let y = m.forward(&x).unwrap();
        let want =
            Tensor::from_slice(&[0.0f32, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0]).view([5, 2]);
        assert!(y.equal(&want), "{y}");
        y.sum(Kind::Float).backward();
        let grad =
            Tensor::from_slice(&[1.0f32, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]).view([5, 2]);
        assert!(x.grad().equal(&grad));
        // single step, d = 2, against multi step
        let x = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([6, 2]) + 1.0;
        let mut s = Delay::new(2).unwrap();
        let y_s = Tensor::stack(
            &(0..6)
                .map(|t| s.forward(&x.get(t)).unwrap())
                .collect::<Vec<_>>(),
            0,
        );
        let y_m = Delay::new(2)
            .unwrap()
            .with_step_mode(StepMode::M)
            .forward(&x)
            .unwrap();
        assert!(y_s.equal(&y_m));
        assert!(y_m.get(1).equal(&x.get(1).zeros_like()) && y_m.get(5).equal(&x.get(3)));
        assert_eq!(s.memories()[0].1.as_ref().unwrap().size(), vec![2, 2]);
        reset_net(&mut s);
        assert!(s.memories()[0].1.is_none());
        // d = 0 is the identity, d >= T gives zeros
        assert!(Delay::new(0)
            .unwrap()
            .forward(&x.get(0))
            .unwrap()
            .equal(&x.get(0)));
        assert!(Delay::new(9)
            .unwrap()
            .with_step_mode(StepMode::M)
            .forward(&x)
            .unwrap()
            .equal(&x.zeros_like()));
    }

    #[test]
    fn bad_delay_and_stale_queue_are_errors() {
        assert!(Delay::new(-1)
            .unwrap_err()
            .to_string()
            .contains("delay_steps must be >= 0"));
        let mut d = Delay::new(3).unwrap();
        let _ = d
            .forward(&Tensor::ones([2, 3], (Kind::Float, Device::Cpu)))
            .unwrap();
        let err = d
            .forward(&Tensor::ones([4, 3], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Delay") && err.contains("reset_net"), "{err}");
    }
}
