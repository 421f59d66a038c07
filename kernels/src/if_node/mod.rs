//! IF: `H = V + X`.
use crate::charge::Charge;

/// The integrate-and-fire charge.
#[derive(Clone, Copy, Debug)]
pub struct IfCharge;

impl Charge for IfCharge {
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        v + x
    }
    #[inline(always)]
    fn dh_dv(&self, _v: f32) -> f32 {
        1.0
    }
    #[inline(always)]
    fn dh_dx(&self, _v: f32) -> f32 {
        1.0
    }
    fn cuda(&self) -> String {
        include_str!("if_node.cu").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::check;

    #[test]
    fn derivatives_and_cuda_source() {
        check::derivatives(IfCharge);
        check::cuda_compiles(IfCharge);
    }
}
