//! SpikingJelly's `auto_cuda.cfunction`: the C snippets behind `surrogate.*.cuda_codes(y, x, dtype)`
//! (checklist 55 and 287), reproduced text for text (tests compare with SpikingJelly 0.0.0.0.14's
//! output), for users who write their own kernels the way the "Implement CUPY Neuron" tutorial
//! does. sj's own kernels do not use them: their surrogate expressions
//! ([`DynSurrogate::cuda_grad`](crate::DynSurrogate::cuda_grad)) follow the CPU and op-by-op
//! formulas exactly, where SpikingJelly's snippets differ at boundaries (PiecewiseLeakyReLU takes
//! `|x| ≤ w` here, `|x| < w` in its autograd function) and `LogTailedReLU`'s is not valid C.

/// The element type of a snippet: `float` or `half2` (two halves, SpikingJelly's fp16 kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CDtype {
    /// `float`.
    Float,
    /// `half2`: two halves computed together.
    Half2,
}

impl CDtype {
    /// SpikingJelly's name: `"float"` or `"half2"`.
    pub fn name(self) -> &'static str {
        match self {
            CDtype::Float => "float",
            CDtype::Half2 => "half2",
        }
    }

    /// From SpikingJelly's name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "float" => Some(CDtype::Float),
            "half2" => Some(CDtype::Half2),
            _ => None,
        }
    }
}

/// Python's `repr` of a float (`4.0`, `0.01`, `1e-05`), which SpikingJelly writes into the code.
pub(crate) fn py_float(x: f64) -> String {
    let s = format!("{x:?}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// `wrap_return_codes`: `(codes)` as an expression, or the statement `z = codes;`.
fn wrap(z: Option<&str>, codes: String) -> String {
    match z {
        None => format!("({codes})"),
        Some(z) => format!("{z} = {codes};"),
    }
}

/// Python-formatted number text as a constant (`constant(None, x, dtype)`).
fn constant(x: &str, dt: CDtype) -> String {
    wrap(
        None,
        match dt {
            CDtype::Float => format!("{x}f"),
            CDtype::Half2 => format!("__float2half2_rn({x}f)"),
        },
    )
}

fn c(x: f64, dt: CDtype) -> String {
    constant(&py_float(x), dt)
}

/// `(float) (x >= y)` or `__hgeu2(x, y)`.
fn greater_equal(z: Option<&str>, x: &str, y: &str, dt: CDtype) -> String {
    wrap(
        z,
        match dt {
            CDtype::Float => format!("(float) ({x} >= {y})"),
            CDtype::Half2 => format!("__hgeu2({x}, {y})"),
        },
    )
}

fn greater_than(z: Option<&str>, x: &str, y: &str, dt: CDtype) -> String {
    wrap(
        z,
        match dt {
            CDtype::Float => format!("(float) ({x} > {y})"),
            CDtype::Half2 => format!("__hgtu2({x}, {y})"),
        },
    )
}

/// `z = x·mask + y·(1 − mask)`.
fn if_else(z: Option<&str>, x: &str, y: &str, mask: &str, dt: CDtype) -> String {
    wrap(
        z,
        match dt {
            CDtype::Float => format!("{x} * {mask} + {y} * (1.0f - {mask})"),
            CDtype::Half2 => format!(
                "__hfma2({x}, {mask}, __hmul2({y}, __hsub2(__float2half2_rn(1.0f), {mask})))"
            ),
        },
    )
}

/// `w = mask_x·x + mask_y·y + (1 − mask_x·mask_y)·z` (SpikingJelly's text, `1.` included).
#[allow(clippy::too_many_arguments)]
fn if_else_else(
    w: Option<&str>,
    x: &str,
    y: &str,
    z: &str,
    mx: &str,
    my: &str,
    dt: CDtype,
) -> String {
    wrap(
        w,
        match dt {
            CDtype::Float => format!("{mx} * {x} + {my} * {y} + (1. - {mx} * {my}) * {z}"),
            CDtype::Half2 => format!(
                "__hadd2(__hadd2(__hmul2({mx}, {x}), __hmul2({my}, {y})), __hmul2({z}, __hsub2(__float2half_rn(1.0f), __hmul2({mx}, {my}))))"
            ),
        },
    )
}

/// The binary operators with SpikingJelly's shortcuts for literal `0.0f` and `1.0f` operands.
fn binary(z: Option<&str>, x: &str, y: &str, op: char, dt: CDtype) -> String {
    let (zero, one) = match dt {
        CDtype::Float => ("0.0f", "1.0f"),
        CDtype::Half2 => ("__float2half2_rn(0.0f)", "__float2half2_rn(1.0f)"),
    };
    let codes = match op {
        '+' if x == zero => y.to_string(),
        '+' | '-' if y == zero => x.to_string(),
        '*' if x == one => y.to_string(),
        '*' | '/' if y == one => x.to_string(),
        _ => match dt {
            CDtype::Float => format!("{x} {op} {y}"),
            CDtype::Half2 => {
                let f = match op {
                    '+' => "__hadd2",
                    '-' => "__hsub2",
                    '*' => "__hmul2",
                    _ => "__h2div",
                };
                format!("{f}({x}, {y})")
            }
        },
    };
    wrap(z, codes)
}

fn sigmoid(y: Option<&str>, x: &str, alpha: f64, dt: CDtype) -> String {
    let a = c(alpha, dt);
    wrap(
        y,
        match dt {
            CDtype::Float => format!("1.0f / (1.0f + expf(- {a} * {x}))"),
            CDtype::Half2 => format!(
                "__h2div(__float2half2_rn(1.0f), __hadd2(__float2half2_rn(1.0f), h2exp(__hneg2(__hmul2({a}, {x})))))"
            ),
        },
    )
}

/// `sigmoid_backward(y, x, alpha, dtype)`.
pub(crate) fn sigmoid_backward(y: &str, x: &str, alpha: f64, dt: CDtype) -> String {
    let d = dt.name();
    let mut codes = sigmoid(
        Some(&format!("const {d} sigmoid_backward__sigmoid_ax")),
        x,
        alpha,
        dt,
    ) + "\n";
    let a = c(alpha, dt);
    codes += &match dt {
        CDtype::Float => format!("{y} = (1.0f - sigmoid_backward__sigmoid_ax) * sigmoid_backward__sigmoid_ax * {a};"),
        CDtype::Half2 => format!(
            "{y} = __hmul2(__hmul2(__hsub2(__float2half2_rn(1.0f), sigmoid_backward__sigmoid_ax), sigmoid_backward__sigmoid_ax), {a});"
        ),
    };
    codes
}

pub(crate) fn atan_backward(y: &str, x: &str, alpha: f64, dt: CDtype) -> String {
    let a = c(alpha, dt);
    match dt {
        CDtype::Float => format!(
            "const float atan_backward__alpha_x = ((float) 1.57079632679489661923) * {a} * {x};{y} = {a} / 2.0f / (1.0f + atan_backward__alpha_x * atan_backward__alpha_x);"
        ),
        CDtype::Half2 => format!(
            "const half2 atan_backward__alpha_x = __hmul2(__hmul2(__float2half2_rn((float) 1.57079632679489661923), {a}), {x});{y} = __h2div({a}, __hmul2(__float2half2_rn(2.0f), __hfma2(atan_backward__alpha_x, atan_backward__alpha_x, __float2half2_rn(1.0f))));"
        ),
    }
}

pub(crate) fn piecewise_leaky_relu_backward(
    y: &str,
    x: &str,
    w: f64,
    cc: f64,
    dt: CDtype,
) -> String {
    let d = dt.name();
    let abs = wrap(
        None,
        match dt {
            CDtype::Float => format!("fabsf({x})"),
            CDtype::Half2 => format!("__habs2({x})"),
        },
    );
    let mask = "piecewise_leaky_relu_backward__mask";
    greater_equal(Some(&format!("const {d} {mask}")), &c(w, dt), &abs, dt)
        + &if_else(Some(y), &c(1.0 / w, dt), &c(cc, dt), mask, dt)
}

pub(crate) fn s2nn_backward(y: &str, x: &str, alpha: f64, beta: f64, dt: CDtype) -> String {
    let d = dt.name();
    let tail = binary(
        None,
        &c(beta, dt),
        &binary(None, x, &c(1.0, dt), '+', dt),
        '/',
        dt,
    );
    sigmoid_backward(&format!("const {d} s2nn_backward__sgax"), x, alpha, dt)
        + &greater_than(
            Some(&format!("const {d} s2nn_backward__mask")),
            &c(0.0, dt),
            x,
            dt,
        )
        + &if_else(
            Some(y),
            "s2nn_backward__sgax",
            &tail,
            "s2nn_backward__mask",
            dt,
        )
}

pub(crate) fn q_pseudo_spike_backward(y: &str, x: &str, alpha: f64, dt: CDtype) -> String {
    let a = c(alpha, dt);
    match dt {
        CDtype::Float => format!("{y} = __powf(2.0f * fabsf({x}) / ({a} - 1.0f) + 1.0f, - {a});"),
        CDtype::Half2 => wrap(
            Some(y),
            format!(
                "h2exp(__hmul2(h2log2(__hadd2(__h2div(__hmul2(__float2half2_rn(2.0f), __habs2({x})), __hsub2({a}, __float2half2_rn(1.0f))), __float2half2_rn(1.0f))), __hneg2({a})))"
            ),
        ),
    }
}

pub(crate) fn leaky_k_relu_backward(y: &str, x: &str, leak: f64, k: f64, dt: CDtype) -> String {
    let d = dt.name();
    let mask = "leaky_k_relu_backward__mask";
    greater_equal(Some(&format!("const {d} {mask}")), x, &c(0.0, dt), dt)
        + &if_else(Some(y), &c(k, dt), &c(leak, dt), mask, dt)
}

pub(crate) fn fake_numerical_gradient_backward(y: &str, x: &str, alpha: f64, dt: CDtype) -> String {
    let m = "fake_numerical_gradient_backward__mask";
    let min = match dt {
        CDtype::Float => format!("min({m}, {})", c(alpha, dt)),
        CDtype::Half2 => format!("__hmin2({m}, {})", c(alpha, dt)),
    };
    greater_equal(Some(&format!("{} {m}", dt.name())), x, &c(0.0, dt), dt)
        + &binary(Some(m), m, &c(2.0, dt), '*', dt)
        + &binary(Some(m), m, &c(1.0, dt), '-', dt)
        + &binary(Some(m), m, x, '/', dt)
        + &wrap(Some(y), min)
}

/// SpikingJelly's text, including its bug: the mask declarations are pasted into the expression.
pub(crate) fn log_tailed_relu_backward(y: &str, x: &str, alpha: f64, dt: CDtype) -> String {
    let d = dt.name();
    let (le0, gt1) = (
        format!("const {d} log_tailed_relu_backward__mask_le0"),
        format!("const {d} log_tailed_relu_backward__mask_gt1"),
    );
    greater_equal(Some(&le0), &c(0.0, dt), x, dt)
        + &greater_than(Some(&gt1), x, &constant("1", dt), dt)
        + &if_else_else(
            Some(y),
            &c(alpha, dt),
            &binary(None, &c(1.0, dt), x, '/', dt),
            &c(1.0, dt),
            &le0,
            &gt1,
            dt,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        assert_eq!(
            [4.0, 0.01, 1e-5, 0.3, 1e20, 2.5e-7].map(py_float),
            ["4.0", "0.01", "1e-05", "0.3", "1e+20", "2.5e-07"]
        );
    }
}
