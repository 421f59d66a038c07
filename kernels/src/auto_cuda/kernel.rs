//! The kernel types and their CUDA text.
use super::wrap_with_comment;
use crate::error::KernelError;

/// The element type of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    Float,
    Half2,
    Int,
}

impl Base {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Base::Float => "float",
            Base::Half2 => "half2",
            Base::Int => "int",
        }
    }
}

/// How a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// `float x`: by value.
    Value,
    /// `const float & x`: a reference (one value in device memory on CUDA).
    Reference,
    /// `float * x`: a tensor.
    Pointer,
}

/// A parsed ctype: `[const] (float | half2 | int) [* | &]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CType {
    pub(crate) is_const: bool,
    pub(crate) base: Base,
    pub(crate) pass: Pass,
}

impl CType {
    pub(crate) fn parse(ctype: &str) -> Option<CType> {
        let spaced = ctype.replace('*', " * ").replace('&', " & ");
        let mut tokens: Vec<&str> = spaced.split_whitespace().collect();
        let is_const = tokens.first() == Some(&"const");
        if is_const {
            tokens.remove(0);
        }
        let pass = match tokens.last() {
            Some(&"*") => Pass::Pointer,
            Some(&"&") => Pass::Reference,
            _ => Pass::Value,
        };
        if pass != Pass::Value {
            tokens.pop();
        }
        let base = match tokens.as_slice() {
            ["float"] => Base::Float,
            ["half2"] => Base::Half2,
            ["int"] => Base::Int,
            _ => return None,
        };
        Some(CType {
            is_const,
            base,
            pass,
        })
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// SpikingJelly's `CKernel`: a CUDA kernel with no head (`{`), your core, and no tail (`}`).
///
/// Mostly a base: [`CKernel1D`] and [`CKernel2D`] are the kernels you call. Parameters are
/// declared in the order they were added (SpikingJelly 0.0.0.0.14 prints them so; newer versions
/// sort them by name); the call binds arguments by name, so the order never matters.
///
/// ```
/// use sj_kernels::auto_cuda::CKernel;
/// let mut k = CKernel::new("example_ck")?;
/// k.add_param("const float*", "x")?;
/// k.add_param("float", "z")?;
/// assert!(k.declaration().contains("const float* x, float z"));
/// assert!(k.add_param("double", "w").is_err());
/// # Ok::<(), sj_kernels::KernelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CKernel {
    kernel_name: String,
    cparams: Vec<(String, String)>,
    reserved_cnames: Vec<String>,
    core: String,
}

impl CKernel {
    /// An empty kernel called `kernel_name` (a C identifier).
    pub fn new(kernel_name: &str) -> Result<Self, KernelError> {
        if !is_identifier(kernel_name) {
            return Err(KernelError::Input(format!(
                "auto_cuda: the kernel name `{kernel_name}` is not a C identifier; use letters, \
                 digits and `_`, not starting with a digit"
            )));
        }
        Ok(CKernel {
            kernel_name: kernel_name.into(),
            cparams: Vec::new(),
            reserved_cnames: Vec::new(),
            core: String::new(),
        })
    }

    /// The kernel's name (the CUDA function's name).
    pub fn kernel_name(&self) -> &str {
        &self.kernel_name
    }

    /// The parameters as `(cname, ctype)`, in declaration order.
    pub fn cparams(&self) -> &[(String, String)] {
        &self.cparams
    }

    /// The names the kernel's code defines, which a parameter may not take.
    pub fn reserved_cnames(&self) -> &[String] {
        &self.reserved_cnames
    }

    /// The core code.
    pub fn core(&self) -> &str {
        &self.core
    }

    /// Sets the core code (SpikingJelly's `kernel.core = '''...'''`).
    pub fn set_core(&mut self, core: impl Into<String>) {
        self.core = core.into();
    }

    /// Adds the parameter `cname` of C type `ctype`: `float`, `half2` or `int`, optionally
    /// `const`, and a pointer (`*`, a tensor), a reference (`&`, one value) or neither (by
    /// value). Errors for another type, a name that is not a C identifier, one already added or
    /// a reserved name.
    pub fn add_param(&mut self, ctype: &str, cname: &str) -> Result<(), KernelError> {
        let k = &self.kernel_name;
        if CType::parse(ctype).is_none() {
            return Err(KernelError::Input(format!(
                "auto_cuda kernel `{k}`: parameter `{cname}` has the C type `{ctype}`; use float, \
                 half2 or int, optionally `const`, followed by `*` (a tensor), `&` (one value) or \
                 nothing (by value), e.g. `const float *`"
            )));
        }
        if !is_identifier(cname) {
            return Err(KernelError::Input(format!(
                "auto_cuda kernel `{k}`: `{cname}` is not a C identifier; name the parameter with \
                 letters, digits and `_`, not starting with a digit"
            )));
        }
        if self.cparams.iter().any(|(n, _)| n == cname) {
            return Err(KernelError::Input(format!(
                "auto_cuda kernel `{k}`: `{cname}` has been added to cparams already; give the \
                 parameter another name"
            )));
        }
        if self.reserved_cnames.iter().any(|n| n == cname) {
            return Err(KernelError::Input(format!(
                "auto_cuda kernel `{k}`: `{cname}` is a reserved cname (the kernel defines it: {}); \
                 rename your parameter to avoid the conflict",
                self.reserved_cnames.join(", ")
            )));
        }
        self.cparams.push((cname.into(), ctype.into()));
        Ok(())
    }

    /// The declaration: `#include <cuda_fp16.h>`, `extern "C" __global__` and the signature.
    pub fn declaration(&self) -> String {
        let params: Vec<String> = self
            .cparams
            .iter()
            .map(|(cname, ctype)| format!("{ctype} {cname}"))
            .collect();
        format!(
            "\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void {}(\n        {}\n        )\n        ",
            self.kernel_name,
            params.join(", ")
        )
    }

    /// The full CUDA source, as SpikingJelly's `full_codes` prints it.
    pub fn full_codes(&self) -> String {
        self.assemble("{", "}", false)
    }

    /// The full CUDA source with `//------<part> start------` markers around each part, as
    /// SpikingJelly prints it when the logging level is DEBUG.
    pub fn full_codes_debug(&self) -> String {
        self.assemble("{", "}", true)
    }

    fn assemble(&self, head: &str, tail: &str, debug: bool) -> String {
        let w = |code: &str, comment: &str| wrap(code, comment, debug);
        w(&self.declaration(), "declaration")
            + &w(head, "head")
            + &w(&self.core, "core")
            + &w(tail, "tail")
    }

    /// The parsed parameters, in declaration order.
    pub(crate) fn typed_params(&self) -> Vec<(&str, CType)> {
        self.cparams
            .iter()
            .map(|(n, t)| (n.as_str(), CType::parse(t).expect("checked in add_param")))
            .collect()
    }
}

fn wrap(code: &str, comment: &str, debug: bool) -> String {
    match debug {
        true => wrap_with_comment(code, comment),
        false => code.to_string(),
    }
}

/// Forwards the parameter and core methods of the inner [`CKernel`].
macro_rules! forward_base {
    () => {
        /// The kernel's name (the CUDA function's name).
        pub fn kernel_name(&self) -> &str {
            self.base.kernel_name()
        }

        /// The parameters as `(cname, ctype)`, in declaration order.
        pub fn cparams(&self) -> &[(String, String)] {
            self.base.cparams()
        }

        /// The names the kernel's code defines, which a parameter may not take.
        pub fn reserved_cnames(&self) -> &[String] {
            self.base.reserved_cnames()
        }

        /// The core code.
        pub fn core(&self) -> &str {
            self.base.core()
        }

        /// Sets the core code (SpikingJelly's `kernel.core = '''...'''`).
        pub fn set_core(&mut self, core: impl Into<String>) {
            self.base.set_core(core)
        }

        /// Adds a parameter; see [`CKernel::add_param`].
        pub fn add_param(&mut self, ctype: &str, cname: &str) -> Result<(), KernelError> {
            self.base.add_param(ctype, cname)
        }

        /// The declaration; see [`CKernel::declaration`].
        pub fn declaration(&self) -> String {
            self.base.declaration()
        }

        /// The full CUDA source, text for text as SpikingJelly's `full_codes`.
        pub fn full_codes(&self) -> String {
            self.base
                .assemble(&self.head_codes(false), &self.tail_codes(false), false)
        }

        /// The full CUDA source with `//------<part> start------` markers around each part (and
        /// around `pre_core`/`post_core` in 2-D kernels), as SpikingJelly prints it when the
        /// logging level is DEBUG.
        pub fn full_codes_debug(&self) -> String {
            self.base
                .assemble(&self.head_codes(true), &self.tail_codes(true), true)
        }

        /// The head: the code between the declaration and the core.
        pub fn head(&self) -> String {
            self.head_codes(false)
        }

        /// The tail: the code after the core.
        pub fn tail(&self) -> String {
            self.tail_codes(false)
        }
    };
}

/// SpikingJelly's `CKernel1D`: an element-wise kernel, one CUDA thread per element.
///
/// The parameter `numel: const int &` is declared first and `index` (the element) is reserved;
/// the core runs when `index < numel`. Tensors are seen as 1-D. On CUDA a `half` tensor with an
/// odd number of elements is padded to `[x, x[-1]]` for the call and unpadded after.
///
/// ```
/// use sj_kernels::auto_cuda::CKernel1D;
/// let mut heaviside = CKernel1D::new("heaviside")?;
/// heaviside.add_param("const float *", "x")?;
/// heaviside.add_param("float *", "y")?;
/// heaviside.set_core("\n            y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;\n");
/// assert!(heaviside.full_codes().contains("const int & numel, const float * x, float * y"));
/// assert!(heaviside.add_param("float *", "index").is_err()); // reserved
/// # Ok::<(), sj_kernels::KernelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CKernel1D {
    pub(crate) base: CKernel,
}

impl CKernel1D {
    /// An element-wise kernel called `kernel_name`.
    pub fn new(kernel_name: &str) -> Result<Self, KernelError> {
        let mut base = CKernel::new(kernel_name)?;
        base.cparams.push(("numel".into(), "const int &".into()));
        base.reserved_cnames.push("index".into());
        Ok(CKernel1D { base })
    }

    forward_base!();

    /// The thread's `index` and the `index < numel` guard.
    fn head_codes(&self, _debug: bool) -> String {
        "\n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < numel)\n            {\n        ".into()
    }

    /// Closes the guard and the function.
    fn tail_codes(&self, _debug: bool) -> String {
        "\n            }\n        }\n        ".into()
    }
}

/// SpikingJelly's `CKernel2D`: a sequence kernel over `[T, N]` tensors, one CUDA thread per
/// neuron.
///
/// Parameters `numel: const int &` (T·N) and `N: const int &` are declared first; `index` (the
/// neuron, `< N`), `dt` (`= N`, one time-step) and `t` (the flat position `t·N + index`) are
/// reserved. `pre_core` runs before the time loop, `core` at each step and `post_core` after it.
/// The loop runs forward, `for(int t = index; t < numel; t += dt)`, or with `reverse` backward,
/// `for(int t = numel - N + index; t >= 0; t -= dt)` (SpikingJelly's docstring swaps the two;
/// its BPTT kernels use the reverse loop as here). Tensors have at most 2 dimensions; on CUDA a
/// `half` tensor `[T, N]` with odd N is padded to `[x, x[:, -1]]` for the call and unpadded after.
///
/// ```
/// use sj_kernels::auto_cuda::CKernel2D;
/// let mut cumsum = CKernel2D::new("cumsum", false)?;
/// cumsum.add_param("const float *", "x")?;
/// cumsum.add_param("float *", "y")?;
/// cumsum.set_core("y[t] = t - dt < 0 ? x[t] : x[t] + y[t - dt];");
/// assert!(cumsum.full_codes().contains("for(int t = index; t < numel; t += dt)"));
/// assert!(cumsum.add_param("int", "dt").is_err()); // reserved
/// # Ok::<(), sj_kernels::KernelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CKernel2D {
    pub(crate) base: CKernel,
    /// Whether the time loop runs backward (from `T - 1` to 0).
    pub reverse: bool,
    pre_core: String,
    post_core: String,
}

impl CKernel2D {
    /// A sequence kernel called `kernel_name`; `reverse` runs the time loop backward.
    pub fn new(kernel_name: &str, reverse: bool) -> Result<Self, KernelError> {
        let mut base = CKernel::new(kernel_name)?;
        base.cparams.push(("numel".into(), "const int &".into()));
        base.cparams.push(("N".into(), "const int &".into()));
        for n in ["index", "dt", "t"] {
            base.reserved_cnames.push(n.into());
        }
        Ok(CKernel2D {
            base,
            reverse,
            pre_core: String::new(),
            post_core: String::new(),
        })
    }

    forward_base!();

    /// The code before the time loop.
    pub fn pre_core(&self) -> &str {
        &self.pre_core
    }

    /// Sets the code before the time loop.
    pub fn set_pre_core(&mut self, code: impl Into<String>) {
        self.pre_core = code.into();
    }

    /// The code after the time loop.
    pub fn post_core(&self) -> &str {
        &self.post_core
    }

    /// Sets the code after the time loop.
    pub fn set_post_core(&mut self, code: impl Into<String>) {
        self.post_core = code.into();
    }

    /// The thread's `index`, the `index < N` guard, `dt`, `pre_core` and the loop header
    /// (`debug` adds the comment markers).
    fn head_codes(&self, debug: bool) -> String {
        let mut codes = String::from(
            "\n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < N)\n            {\n                const int dt = N;\n        ",
        );
        codes += &wrap(&self.pre_core, "pre_core", debug);
        codes += match self.reverse {
            true => "\n                for(int t = numel - N + index; t >= 0; t -= dt)\n                {\n            ",
            false => "\n                for(int t = index; t < numel; t += dt)\n                {\n            ",
        };
        codes
    }

    /// Closes the loop, `post_core`, closes the guard and the function.
    fn tail_codes(&self, debug: bool) -> String {
        let mut codes = String::from("\n                }\n        ");
        codes += &wrap(&self.post_core, "post_core", debug);
        codes += "\n            }\n        }\n        ";
        codes
    }
}
