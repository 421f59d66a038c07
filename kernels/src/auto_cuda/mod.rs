//! # auto_cuda: write your own element-wise and sequence kernels
//!
//! SpikingJelly's `activation_based.auto_cuda.base`: a kernel is a declaration, a head, a *core*
//! that you write in C, and a tail. [`CKernel1D`] runs the core once per element
//! (`index < numel`); [`CKernel2D`] runs it once per time-step of each neuron of a `[T, N]`
//! sequence (`t` steps by `dt = N`, forward or reversed), with optional `pre_core` and
//! `post_core` around the time loop. [`CKernel1D::full_codes`] prints the CUDA source, text for
//! text as SpikingJelly prints it.
//!
//! The same kernel runs
//! * on CUDA tensors: the source is compiled by NVRTC at first use (no CUDA toolkit at build
//!   time) and launched through cudarc; without a GPU the call returns
//!   [`KernelError::CudaUnavailable`](crate::KernelError::CudaUnavailable);
//! * on CPU tensors: the same core, inside a C loop over `index` (and `t`), is compiled by the
//!   system C compiler (`$CC`, else `cc`) into a shared library, loaded with `dlopen` and cached
//!   for the process. The CPU build takes `float` and `int` parameters (not `half2`).
//!
//! Arguments are bound by name ([`KernelArg`]), so their order never matters.
//!
//! ```
//! use sj_kernels::auto_cuda::{CKernel1D, KernelArg};
//! use tch::Tensor;
//!
//! let mut heaviside = CKernel1D::new("heaviside")?;
//! heaviside.add_param("const float *", "x")?;
//! heaviside.add_param("float *", "y")?;
//! heaviside.set_core("\n            y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;\n");
//! assert!(heaviside.full_codes().contains("void heaviside("));
//!
//! let x = Tensor::from_slice(&[-0.5f32, 0.0, 0.25]);
//! let y = x.zeros_like();
//! // SAFETY: the core reads x[index] and writes y[index] for index < numel, and both hold
//! // numel floats.
//! match unsafe { heaviside.simple_call([("x", KernelArg::from(&x)), ("y", (&y).into())]) } {
//!     Ok(()) => assert_eq!(Vec::<f32>::try_from(&y)?, [0.0, 1.0, 1.0]),
//!     // The CPU build needs a C compiler.
//!     Err(e) => assert!(e.to_string().contains("C compiler"), "{e}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
mod call;
mod cpu;
mod kernel;
#[cfg(test)]
mod tests;

pub use call::KernelArg;
pub use kernel::{CKernel, CKernel1D, CKernel2D};

/// SpikingJelly's `wrap_with_comment`: `code` between `//------<comment> start------` and
/// `//------<comment> end--------` markers.
///
/// SpikingJelly adds the markers only when the logging level is DEBUG; sj always adds them here,
/// and the kernels' [`full_codes_debug`](CKernel1D::full_codes_debug) is the DEBUG form of
/// [`full_codes`](CKernel1D::full_codes).
///
/// ```
/// use sj_kernels::auto_cuda::wrap_with_comment;
/// assert_eq!(
///     wrap_with_comment("x = 1;", "core"),
///     "\n//------core start------\nx = 1;\n//------core end--------\n\n"
/// );
/// ```
pub fn wrap_with_comment(code: &str, comment: &str) -> String {
    format!("\n//------{comment} start------\n{code}\n//------{comment} end--------\n\n")
}

/// SpikingJelly's `startswiths`: whether `x` starts with any of `prefixes`.
///
/// ```
/// use sj_kernels::auto_cuda::startswiths;
/// assert!(startswiths("const float *", &["const float", "float"]));
/// assert!(!startswiths("half2 *", &["const float", "float"]));
/// ```
pub fn startswiths(x: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| x.starts_with(p))
}

/// SpikingJelly's `CodeTyper`: collects C statements, one per line, indented.
///
/// [`append`](CodeTyper::append) removes newlines, splits at `;` and writes each non-empty piece
/// on its own line with the indent and a `;` (a lone `{` or `}` gets no `;`). Like SpikingJelly it
/// also ends a comment with `;`. The text starts with a newline.
///
/// ```
/// use sj_kernels::auto_cuda::CodeTyper;
/// let mut typer = CodeTyper::new(4);
/// typer.append("z = x * mask + y * (1.0f - mask);");
/// assert_eq!(typer.codes, "\n    z = x * mask + y * (1.0f - mask);\n");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeTyper {
    /// The indent written before each line.
    pub indent: String,
    /// The code so far.
    pub codes: String,
}

impl CodeTyper {
    /// An empty typer that indents by `indent_num` spaces.
    pub fn new(indent_num: usize) -> Self {
        CodeTyper {
            indent: " ".repeat(indent_num),
            codes: "\n".into(),
        }
    }

    /// Appends `codes`, one statement per line (see the type's documentation).
    pub fn append(&mut self, codes: &str) {
        let codes = codes.replace('\n', "");
        for piece in codes.split(';').filter(|p| !p.is_empty()) {
            self.codes.push_str(&self.indent);
            self.codes.push_str(piece);
            if piece != "{" && piece != "}" {
                self.codes.push(';');
            }
            self.codes.push('\n');
        }
    }
}

/// SpikingJelly's `CodeBlock`: a `{ … }` block in a [`CodeTyper`], one more space of indent
/// inside. Creating it appends `{`; dropping it appends `}`. It dereferences to the typer, so
/// append through it (Python's `with CodeBlock(typer):`).
///
/// ```
/// use sj_kernels::auto_cuda::{CodeBlock, CodeTyper};
/// let mut typer = CodeTyper::new(4);
/// {
///     let mut block = CodeBlock::new(&mut typer);
///     block.append("float temp_var = x;");
/// }
/// assert_eq!(typer.codes, "\n    {\n     float temp_var = x;\n    }\n");
/// ```
#[derive(Debug)]
pub struct CodeBlock<'a> {
    env: &'a mut CodeTyper,
}

impl<'a> CodeBlock<'a> {
    /// Opens a block in `env`.
    pub fn new(env: &'a mut CodeTyper) -> Self {
        env.append("{");
        env.indent.push(' ');
        CodeBlock { env }
    }
}

impl Drop for CodeBlock<'_> {
    fn drop(&mut self) {
        self.env.indent.pop();
        self.env.append("}");
    }
}

impl std::ops::Deref for CodeBlock<'_> {
    type Target = CodeTyper;
    fn deref(&self) -> &CodeTyper {
        self.env
    }
}

impl std::ops::DerefMut for CodeBlock<'_> {
    fn deref_mut(&mut self) -> &mut CodeTyper {
        self.env
    }
}
