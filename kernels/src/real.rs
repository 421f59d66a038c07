//! [`Real`]: the numbers a formula is written over once and evaluated three ways: as an `f32`
//! ([`Scalar`], in the CPU kernels' loops), as a tch tensor ([`TensorReal`], the op-by-op path,
//! with autograd), and as CUDA C source text ([`CExpr`], written into the generated kernels).
//! Surrogates ([`SurrogateFunction`](crate::SurrogateFunction)) are written this way, so each
//! formula exists in one place.
//!
//! ```
//! use sj_kernels::real::{CExpr, Real, Scalar};
//! // 1 / (1 + |x|), written once
//! fn f<R: Real>(x: R) -> R { (x.abs() + 1.0).recip() }
//! assert_eq!(f(Scalar(-3.0)).0, 0.25);
//! assert_eq!(f(CExpr::var("x")).to_string(), "(1.0f / (fabsf(x) + 1.0f))");
//! ```
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};
use tch::Tensor;

/// Element-wise arithmetic over `f32`, tensors or CUDA C text. Constants are `f64` (rounded to
/// float32 where the value is float32, as PyTorch does with a Python scalar). Comparisons give a
/// [`Real::Mask`] for [`Real::select`]; both branches of a select are evaluated, so write each
/// branch so that it is finite everywhere (clamp with [`Real::max_c`] before `ln` or `recip`),
/// as autograd would otherwise propagate NaN from the branch not taken.
pub trait Real:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// The result of a comparison.
    type Mask;
    /// The constant `c` shaped like `like`.
    fn constant(like: &Self, c: f64) -> Self;
    /// `c − x`.
    fn rsub(self, c: f64) -> Self {
        -self + c
    }
    /// `1 / x`.
    fn recip(self) -> Self;
    /// `c / x`.
    fn rdiv(self, c: f64) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// `eˣ`.
    fn exp(self) -> Self;
    /// `ln x`.
    fn ln(self) -> Self;
    /// `1 / (1 + e⁻ˣ)`.
    fn sigmoid(self) -> Self;
    /// `atan x`.
    fn atan(self) -> Self;
    /// `erfc x`.
    fn erfc(self) -> Self;
    /// `sin x`.
    fn sin(self) -> Self;
    /// `cos x`.
    fn cos(self) -> Self;
    /// `xᶜ`.
    fn powf(self, c: f64) -> Self;
    /// `min(x, c)`.
    fn min_c(self, c: f64) -> Self;
    /// `max(x, c)`.
    fn max_c(self, c: f64) -> Self;
    /// `x ≥ c`.
    fn ge(&self, c: f64) -> Self::Mask;
    /// `x > c`.
    fn gt(&self, c: f64) -> Self::Mask;
    /// `x < c`.
    fn lt(&self, c: f64) -> Self::Mask;
    /// `x ≤ c`.
    fn le(&self, c: f64) -> Self::Mask;
    /// `then` where `mask`, else `otherwise`.
    fn select(mask: Self::Mask, then: Self, otherwise: Self) -> Self;
    /// `x · x`.
    fn square(self) -> Self {
        self.clone() * self
    }
    /// `Θ(x)`: 1 where `x ≥ 0` (`-0.0` included), else 0; no gradient.
    fn heaviside(&self) -> Self {
        Self::select(
            self.ge(0.0),
            Self::constant(self, 1.0),
            Self::constant(self, 0.0),
        )
    }
}

/// Implements the operators of a [`Real`] newtype from a binary and a scalar form.
macro_rules! real_ops {
    ($t:ty, |$a:ident, $b:ident| { $add:expr, $sub:expr, $mul:expr, $div:expr }, |$x:ident, $c:ident| { $addc:expr, $subc:expr, $mulc:expr, $divc:expr }, |$n:ident| $neg:expr) => {
        impl Add for $t {
            type Output = $t;
            fn add(self, $b: $t) -> $t {
                let $a = self;
                $add
            }
        }
        impl Sub for $t {
            type Output = $t;
            fn sub(self, $b: $t) -> $t {
                let $a = self;
                $sub
            }
        }
        impl Mul for $t {
            type Output = $t;
            fn mul(self, $b: $t) -> $t {
                let $a = self;
                $mul
            }
        }
        impl Div for $t {
            type Output = $t;
            fn div(self, $b: $t) -> $t {
                let $a = self;
                $div
            }
        }
        impl Add<f64> for $t {
            type Output = $t;
            fn add(self, $c: f64) -> $t {
                let $x = self;
                $addc
            }
        }
        impl Sub<f64> for $t {
            type Output = $t;
            fn sub(self, $c: f64) -> $t {
                let $x = self;
                $subc
            }
        }
        impl Mul<f64> for $t {
            type Output = $t;
            fn mul(self, $c: f64) -> $t {
                let $x = self;
                $mulc
            }
        }
        impl Div<f64> for $t {
            type Output = $t;
            fn div(self, $c: f64) -> $t {
                let $x = self;
                $divc
            }
        }
        impl Neg for $t {
            type Output = $t;
            fn neg(self) -> $t {
                let $n = self;
                $neg
            }
        }
    };
}

/// An `f32`, computed as the CPU kernels do (constants rounded to `f32` first).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Scalar(pub f32);

real_ops!(Scalar,
    |a, b| { Scalar(a.0 + b.0), Scalar(a.0 - b.0), Scalar(a.0 * b.0), Scalar(a.0 / b.0) },
    |x, c| { Scalar(x.0 + c as f32), Scalar(x.0 - c as f32), Scalar(x.0 * c as f32), Scalar(x.0 / c as f32) },
    |n| Scalar(-n.0));

impl Real for Scalar {
    type Mask = bool;
    #[inline(always)]
    fn constant(_: &Self, c: f64) -> Self {
        Scalar(c as f32)
    }
    #[inline(always)]
    fn rsub(self, c: f64) -> Self {
        Scalar(c as f32 - self.0)
    }
    #[inline(always)]
    fn recip(self) -> Self {
        Scalar(1.0 / self.0)
    }
    #[inline(always)]
    fn rdiv(self, c: f64) -> Self {
        Scalar(c as f32 / self.0)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Scalar(self.0.abs())
    }
    #[inline(always)]
    fn exp(self) -> Self {
        Scalar(self.0.exp())
    }
    #[inline(always)]
    fn ln(self) -> Self {
        Scalar(self.0.ln())
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        Scalar(1.0 / (1.0 + (-self.0).exp()))
    }
    #[inline(always)]
    fn atan(self) -> Self {
        Scalar(self.0.atan())
    }
    fn erfc(self) -> Self {
        Scalar(libm_erfc(self.0 as f64) as f32)
    }
    #[inline(always)]
    fn sin(self) -> Self {
        Scalar(self.0.sin())
    }
    #[inline(always)]
    fn cos(self) -> Self {
        Scalar(self.0.cos())
    }
    #[inline(always)]
    fn powf(self, c: f64) -> Self {
        Scalar(self.0.powf(c as f32))
    }
    #[inline(always)]
    fn min_c(self, c: f64) -> Self {
        Scalar(self.0.min(c as f32))
    }
    #[inline(always)]
    fn max_c(self, c: f64) -> Self {
        Scalar(self.0.max(c as f32))
    }
    #[inline(always)]
    fn ge(&self, c: f64) -> bool {
        self.0 >= c as f32
    }
    #[inline(always)]
    fn gt(&self, c: f64) -> bool {
        self.0 > c as f32
    }
    #[inline(always)]
    fn lt(&self, c: f64) -> bool {
        self.0 < c as f32
    }
    #[inline(always)]
    fn le(&self, c: f64) -> bool {
        self.0 <= c as f32
    }
    #[inline(always)]
    fn select(mask: bool, then: Self, otherwise: Self) -> Self {
        if mask {
            then
        } else {
            otherwise
        }
    }
}

/// `erfc` in f64 (Rust's std has none): W. J. Cody's rational approximations as in Numerical
/// Recipes' `erfcc`, relative error below 1.2e-7, enough for an f32 result.
fn libm_erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// A tch tensor: the op-by-op path, with autograd through every operation.
#[derive(Debug)]
pub struct TensorReal(pub Tensor);

impl Clone for TensorReal {
    /// A shallow copy (the same storage and autograd history), as tensors are shared in tch.
    fn clone(&self) -> Self {
        TensorReal(self.0.shallow_clone())
    }
}

real_ops!(TensorReal,
    |a, b| { TensorReal(a.0 + b.0), TensorReal(a.0 - b.0), TensorReal(a.0 * b.0), TensorReal(a.0 / b.0) },
    |x, c| { TensorReal(x.0 + c), TensorReal(x.0 - c), TensorReal(x.0 * c), TensorReal(x.0 / c) },
    |n| TensorReal(-n.0));

impl Real for TensorReal {
    type Mask = Tensor;
    fn constant(like: &Self, c: f64) -> Self {
        TensorReal(like.0.full_like(c))
    }
    fn rsub(self, c: f64) -> Self {
        TensorReal(c - self.0)
    }
    fn recip(self) -> Self {
        TensorReal(self.0.reciprocal())
    }
    fn rdiv(self, c: f64) -> Self {
        TensorReal(c / self.0)
    }
    fn abs(self) -> Self {
        TensorReal(self.0.abs())
    }
    fn exp(self) -> Self {
        TensorReal(self.0.exp())
    }
    fn ln(self) -> Self {
        TensorReal(self.0.log())
    }
    fn sigmoid(self) -> Self {
        TensorReal(self.0.sigmoid())
    }
    fn atan(self) -> Self {
        TensorReal(self.0.atan())
    }
    fn erfc(self) -> Self {
        TensorReal(self.0.erfc())
    }
    fn sin(self) -> Self {
        TensorReal(self.0.sin())
    }
    fn cos(self) -> Self {
        TensorReal(self.0.cos())
    }
    fn powf(self, c: f64) -> Self {
        TensorReal(self.0.pow_tensor_scalar(c))
    }
    fn min_c(self, c: f64) -> Self {
        TensorReal(self.0.clamp_max(c))
    }
    fn max_c(self, c: f64) -> Self {
        TensorReal(self.0.clamp_min(c))
    }
    fn ge(&self, c: f64) -> Tensor {
        self.0.ge(c)
    }
    fn gt(&self, c: f64) -> Tensor {
        self.0.gt(c)
    }
    fn lt(&self, c: f64) -> Tensor {
        self.0.lt(c)
    }
    fn le(&self, c: f64) -> Tensor {
        self.0.le(c)
    }
    fn select(mask: Tensor, then: Self, otherwise: Self) -> Self {
        TensorReal(then.0.where_self(&mask, &otherwise.0))
    }
    fn square(self) -> Self {
        TensorReal(self.0.square())
    }
    fn heaviside(&self) -> Self {
        TensorReal(self.0.ge(0.0).to_kind(self.0.kind()))
    }
}

/// A CUDA C `float` expression: every operation is written in parentheses, constants as float
/// literals (`4.0f`), so the text can be spliced anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CExpr(String);

impl CExpr {
    /// A variable (or any C expression) by name, e.g. `CExpr::var("over_th")`.
    pub fn var(name: &str) -> Self {
        CExpr(name.to_string())
    }
    fn call(f: &str, x: CExpr) -> Self {
        CExpr(format!("{f}({})", x.0))
    }
}

impl fmt::Display for CExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A float literal for CUDA C: `{c:?}f` (`4.0f`, `0.01f`, `1e-5f`), rounded to float by the compiler.
pub fn c_float(c: f64) -> String {
    format!("{c:?}f")
}

real_ops!(CExpr,
    |a, b| { CExpr(format!("({} + {})", a.0, b.0)), CExpr(format!("({} - {})", a.0, b.0)),
             CExpr(format!("({} * {})", a.0, b.0)), CExpr(format!("({} / {})", a.0, b.0)) },
    |x, c| { CExpr(format!("({} + {})", x.0, c_float(c))), CExpr(format!("({} - {})", x.0, c_float(c))),
             CExpr(format!("({} * {})", x.0, c_float(c))), CExpr(format!("({} / {})", x.0, c_float(c))) },
    |n| CExpr(format!("(-{})", n.0)));

impl Real for CExpr {
    type Mask = String;
    fn constant(_: &Self, c: f64) -> Self {
        CExpr(c_float(c))
    }
    fn rsub(self, c: f64) -> Self {
        CExpr(format!("({} - {})", c_float(c), self.0))
    }
    fn recip(self) -> Self {
        CExpr(format!("(1.0f / {})", self.0))
    }
    fn rdiv(self, c: f64) -> Self {
        CExpr(format!("({} / {})", c_float(c), self.0))
    }
    fn abs(self) -> Self {
        CExpr::call("fabsf", self)
    }
    fn exp(self) -> Self {
        CExpr::call("expf", self)
    }
    fn ln(self) -> Self {
        CExpr::call("logf", self)
    }
    fn sigmoid(self) -> Self {
        CExpr(format!("(1.0f / (1.0f + expf(-{})))", self.0))
    }
    fn atan(self) -> Self {
        CExpr::call("atanf", self)
    }
    fn erfc(self) -> Self {
        CExpr::call("erfcf", self)
    }
    fn sin(self) -> Self {
        CExpr::call("sinf", self)
    }
    fn cos(self) -> Self {
        CExpr::call("cosf", self)
    }
    fn powf(self, c: f64) -> Self {
        CExpr(format!("powf({}, {})", self.0, c_float(c)))
    }
    fn min_c(self, c: f64) -> Self {
        CExpr(format!("fminf({}, {})", self.0, c_float(c)))
    }
    fn max_c(self, c: f64) -> Self {
        CExpr(format!("fmaxf({}, {})", self.0, c_float(c)))
    }
    fn ge(&self, c: f64) -> String {
        format!("{} >= {}", self.0, c_float(c))
    }
    fn gt(&self, c: f64) -> String {
        format!("{} > {}", self.0, c_float(c))
    }
    fn lt(&self, c: f64) -> String {
        format!("{} < {}", self.0, c_float(c))
    }
    fn le(&self, c: f64) -> String {
        format!("{} <= {}", self.0, c_float(c))
    }
    fn select(mask: String, then: Self, otherwise: Self) -> Self {
        CExpr(format!("({mask} ? {} : {})", then.0, otherwise.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    /// One formula with every operation, evaluated three ways.
    fn every_op<R: Real>(x: R) -> R {
        let a = (x.clone() * 2.0 + 1.0).sigmoid() - x.clone().abs().exp() / 4.0;
        let b = (x.clone().abs() + 0.5).ln() * x.clone().atan() + x.clone().erfc();
        let c = x.clone().sin() * x.clone().cos() - (x.clone().abs() + 1.0).powf(-1.5);
        let d = x.clone().min_c(0.3).max_c(-0.2).rsub(1.0) + x.clone().square().recip().min_c(9.0);
        let e = R::select(x.ge(0.1), x.clone(), -x.clone())
            + R::select(x.lt(-0.5), a.clone(), b.clone());
        let f = R::select(x.gt(0.2), c.clone(), d.clone())
            * R::select(x.le(0.0), e.clone(), x.heaviside());
        a + b * c - d / e + f
    }

    #[test]
    fn scalar_tensor_and_cuda_forms_agree() {
        let xs: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.0625 + 0.01).collect();
        let t = every_op(TensorReal(Tensor::from_slice(&xs)));
        let t = Vec::<f32>::try_from(&t.0.to_kind(Kind::Float)).unwrap();
        for (x, want) in xs.iter().zip(t) {
            let got = every_op(Scalar(*x)).0;
            assert!(
                (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "x={x}: {got} vs {want}"
            );
        }
        let src = format!(
            "extern \"C\" __global__ void f(float* y, const float* x) {{ y[0] = {}; }}",
            every_op(CExpr::var("x[0]"))
        );
        if let Err(e) = crate::cuda::compile(&src) {
            panic!("{e}\n{src}");
        }
    }

    #[test]
    fn erfc_is_accurate_for_f32() {
        // reference values of erfc to 10 significant digits
        for (x, want) in [
            (-2.0, 1.995_322_265),
            (-0.5, 1.520_499_878),
            (0.0, 1.0),
            (0.3, 0.671_373_240_5),
            (2.5, 4.069_520_174e-4),
        ] {
            let got = libm_erfc(x);
            assert!(
                (got - want).abs() < 2e-7 * want,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }
}
