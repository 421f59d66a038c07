//! Calling a kernel: binding arguments by name, the checks of SpikingJelly's `__call__`, the
//! CUDA launch (half2 padding included) and the dispatch to the CPU build.
use super::kernel::{Base, CKernel, CKernel1D, CKernel2D, CType, Pass};
use crate::error::KernelError;
use cudarc::driver::{CudaFunction, LaunchConfig, PushKernelArg};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use tch::{Device, Kind, Tensor};

/// One argument of a kernel call: a tensor for a pointer parameter (`float *`, `half2 *`,
/// `int *`), a number for the others (`const int &`, `float`, ...).
///
/// Built with `From`: `KernelArg::from(&x)`, `3.into()`, `0.5f32.into()`. An `Int` may be given
/// for a `float` parameter.
#[derive(Debug)]
pub enum KernelArg<'a> {
    /// A tensor, for a pointer parameter: float32 for `float *`, float16 for `half2 *`, int32
    /// for `int *`.
    Tensor(&'a Tensor),
    /// An integer, for an `int` or `int &` parameter (or a `float` one).
    Int(i32),
    /// A number, for a `float`, `float &` or `half2 &` parameter.
    Float(f32),
}

impl<'a> From<&'a Tensor> for KernelArg<'a> {
    fn from(t: &'a Tensor) -> Self {
        KernelArg::Tensor(t)
    }
}

impl From<i32> for KernelArg<'_> {
    fn from(v: i32) -> Self {
        KernelArg::Int(v)
    }
}

impl From<f32> for KernelArg<'_> {
    fn from(v: f32) -> Self {
        KernelArg::Float(v)
    }
}

/// What a kernel looks like to the callers: its parameters and core, and its loop.
pub(crate) struct Spec<'k> {
    pub(crate) base: &'k CKernel,
    pub(crate) shape: Shape<'k>,
    /// The CUDA source (`full_codes`).
    pub(crate) cuda: String,
}

#[derive(Clone, Copy)]
pub(crate) enum Shape<'k> {
    OneD,
    TwoD {
        reverse: bool,
        pre_core: &'k str,
        post_core: &'k str,
    },
}

/// A checked argument, in declaration order.
pub(crate) enum Value<'a> {
    Tensor(&'a Tensor),
    Int(i32),
    Float(f32),
}

pub(crate) struct Bound<'a> {
    pub(crate) name: String,
    pub(crate) ctype: CType,
    pub(crate) ctype_text: String,
    pub(crate) value: Value<'a>,
}

fn err(kernel: &str, msg: impl std::fmt::Display) -> KernelError {
    KernelError::Input(format!("auto_cuda kernel `{kernel}`: {msg}"))
}

fn kind_of(base: Base) -> Kind {
    match base {
        Base::Float => Kind::Float,
        Base::Half2 => Kind::Half,
        Base::Int => Kind::Int,
    }
}

/// SpikingJelly's `get_device` and `check_device`: the device of the tensors, which must agree.
fn device_of(kernel: &str, args: &[(&str, KernelArg)]) -> Result<Device, KernelError> {
    let mut device = None;
    for (name, a) in args {
        if let KernelArg::Tensor(t) = a {
            match device {
                None => device = Some((name, t.device())),
                Some((first, d)) if d != t.device() => {
                    return Err(err(
                        kernel,
                        format!(
                            "`{first}` is on {d:?} but `{name}` is on {:?}; move all tensors to one device",
                            t.device()
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    device.map(|(_, d)| d).ok_or_else(|| {
        err(
            kernel,
            "no tensor among the arguments, so no device to run on; pass the tensors",
        )
    })
}

/// SpikingJelly's `check_keys` and `check_ctypes`, and contiguity of the outputs.
pub(crate) fn bind<'a>(
    kernel: &CKernel,
    args: Vec<(&str, KernelArg<'a>)>,
) -> Result<Vec<Bound<'a>>, KernelError> {
    let k = kernel.kernel_name();
    let params = kernel.typed_params();
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
    let mut given: HashMap<&str, KernelArg<'a>> = HashMap::new();
    for (name, a) in args {
        if !names.contains(&name) {
            return Err(err(
                k,
                format!(
                    "`{name}` is not a parameter (the parameters are {}); add it with `add_param` or drop the argument",
                    names.join(", ")
                ),
            ));
        }
        if given.insert(name, a).is_some() {
            return Err(err(k, format!("`{name}` is given twice; pass it once")));
        }
    }
    let mut bound = Vec::with_capacity(params.len());
    for ((name, ctype), (_, ctype_text)) in params.into_iter().zip(kernel.cparams()) {
        let a = given.remove(name).ok_or_else(|| {
            err(
                k,
                format!("the parameter `{name}` (`{ctype_text}`) has no argument; pass it"),
            )
        })?;
        let value = match (ctype.pass, a) {
            (Pass::Pointer, KernelArg::Tensor(t)) => {
                let want = kind_of(ctype.base);
                if t.kind() != want {
                    return Err(err(
                        k,
                        format!(
                            "`{name}` is `{ctype_text}` and takes a {want:?} tensor, got {:?}; convert it with `.to_kind(Kind::{want:?})`",
                            t.kind()
                        ),
                    ));
                }
                if !ctype.is_const && !t.is_contiguous() {
                    return Err(err(
                        k,
                        format!(
                            "`{name}` (`{ctype_text}`) is written in place and must be contiguous; pass `.contiguous()` and read the result from that tensor"
                        ),
                    ));
                }
                Value::Tensor(t)
            }
            (Pass::Pointer, a) => {
                return Err(err(
                    k,
                    format!("`{name}` is `{ctype_text}` and takes a tensor, got {a:?}"),
                ))
            }
            (_, KernelArg::Tensor(_)) => {
                return Err(err(
                    k,
                    format!(
                        "`{name}` is `{ctype_text}` and takes a number (`{}`), got a tensor",
                        match ctype.base {
                            Base::Int => "KernelArg::Int",
                            _ => "KernelArg::Float",
                        }
                    ),
                ))
            }
            (_, KernelArg::Int(v)) if ctype.base == Base::Int => Value::Int(v),
            (_, KernelArg::Float(v)) if ctype.base == Base::Int => {
                return Err(err(
                    k,
                    format!("`{name}` is `{ctype_text}` and takes an i32, got the float {v}"),
                ))
            }
            (_, KernelArg::Int(v)) => Value::Float(v as f32),
            (_, KernelArg::Float(v)) => Value::Float(v),
        };
        bound.push(Bound {
            name: name.to_string(),
            ctype,
            ctype_text: ctype_text.clone(),
            value,
        });
    }
    Ok(bound)
}

/// SpikingJelly's `check_shape` for 2-D kernels: tensors have at most 2 dimensions.
fn check_shape(kernel: &str, args: &[(&str, KernelArg)]) -> Result<(), KernelError> {
    for (name, a) in args {
        if let KernelArg::Tensor(t) = a {
            if t.dim() > 2 {
                return Err(err(
                    kernel,
                    format!(
                        "`{name}` has shape {:?}; a 2-D kernel takes tensors of at most 2 dimensions ([T, N]): flatten it with `.flatten(1, -1)`",
                        t.size()
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Spec<'_> {
    fn name(&self) -> &str {
        self.base.kernel_name()
    }

    /// SpikingJelly's `__call__`: `grid · block` threads over the bound arguments.
    fn call<'a>(
        &self,
        grid: u32,
        block: u32,
        args: Vec<(&str, KernelArg<'a>)>,
    ) -> Result<(), KernelError> {
        let device = device_of(self.name(), &args)?;
        if let Shape::TwoD { .. } = self.shape {
            check_shape(self.name(), &args)?;
        }
        let bound = bind(self.base, args)?;
        match device {
            Device::Cuda(ordinal) => self.run_cuda(ordinal, grid, block, &bound),
            _ => {
                let threads = (grid as u64 * block as u64).min(i32::MAX as u64) as i32;
                super::cpu::run(self, threads, &bound)
            }
        }
    }

    /// SpikingJelly's `simple_call`: `numel` (and `N`) from the tensors, then one thread per
    /// element (per neuron for 2-D kernels).
    fn simple_call<'a>(&self, mut args: Vec<(&str, KernelArg<'a>)>) -> Result<(), KernelError> {
        let device = device_of(self.name(), &args)?;
        if let Shape::TwoD { .. } = self.shape {
            check_shape(self.name(), &args)?;
        }
        // As SpikingJelly, the last tensor (the last 2-D one for a 2-D kernel) gives the sizes.
        let last = args
            .iter()
            .filter_map(|(_, a)| match a {
                KernelArg::Tensor(t) => Some(*t),
                _ => None,
            })
            .rfind(|t| matches!(self.shape, Shape::OneD) || t.dim() == 2);
        let Some(t) = last else {
            return Err(err(
                self.name(),
                "no 2-D tensor among the arguments to take T and N from; pass the [T, N] tensors",
            ));
        };
        let cuda = matches!(device, Device::Cuda(_));
        // A half tensor on CUDA is read as half2, two elements per index (after padding).
        let half2 = cuda && t.kind() == Kind::Half;
        let per = |n: i64| if half2 { (n + 1) / 2 } else { n };
        let (numel, n, threads) = match self.shape {
            Shape::OneD => {
                let numel = per(t.numel() as i64);
                (numel, None, numel)
            }
            Shape::TwoD { .. } => {
                let (t_steps, n) = (t.size()[0], per(t.size()[1]));
                (t_steps * n, Some(n), n)
            }
        };
        let fits = |v: i64| {
            i32::try_from(v).map_err(|_| {
                err(
                    self.name(),
                    format!(
                        "{v} elements do not fit the kernel's 32-bit `int` indices; split the call"
                    ),
                )
            })
        };
        args.retain(|(name, _)| *name != "numel" && *name != "N");
        args.push(("numel", KernelArg::Int(fits(numel)?)));
        if let Some(n) = n {
            args.push(("N", KernelArg::Int(fits(n)?)));
        }
        let threads = fits(threads)? as u32;
        match cuda {
            true => {
                let block = crate::cuda::THREADS;
                self.call(threads.div_ceil(block).max(1), block, args)
            }
            false => self.call(1, threads, args),
        }
    }

    /// The CUDA function of this kernel on device `ordinal`, compiled once per source.
    fn function(&self, ordinal: usize) -> Result<CudaFunction, KernelError> {
        type Cache = Mutex<HashMap<(usize, String), CudaFunction>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let poisoned = |_| KernelError::Cuda("auto_cuda kernel cache poisoned".into());
        let key = (ordinal, self.cuda.clone());
        let cache = CACHE.get_or_init(Default::default);
        if let Some(f) = cache.lock().map_err(poisoned)?.get(&key) {
            return Ok(f.clone());
        }
        let ctx = crate::cuda::context(ordinal)?;
        let ptx = nvrtc(self.name(), &self.cuda)?;
        let module = ctx
            .load_module(ptx)
            .map_err(|e| KernelError::Cuda(e.to_string()))?;
        let f = module
            .load_function(self.name())
            .map_err(|e| KernelError::Cuda(e.to_string()))?;
        cache.lock().map_err(poisoned)?.insert(key, f.clone());
        Ok(f)
    }

    /// Launches on CUDA: half tensors padded to an even count (in their last dimension for 2-D
    /// tensors of a 2-D kernel) and written back unpadded, `&` parameters as one-value device
    /// tensors.
    pub(crate) fn run_cuda(
        &self,
        ordinal: usize,
        grid: u32,
        block: u32,
        bound: &[Bound],
    ) -> Result<(), KernelError> {
        // The context first: without a driver this is `CudaUnavailable`, before any compiling.
        let ctx = crate::cuda::context(ordinal)?;
        let f = self.function(ordinal)?;
        let device = Device::Cuda(ordinal);
        enum Arg {
            Ptr(u64),
            I32(i32),
            F32(f32),
        }
        let mut keep = Vec::new();
        let mut write_back = Vec::new();
        let mut cargs = Vec::with_capacity(bound.len());
        for b in bound {
            let arg = match (&b.value, b.ctype.pass) {
                (Value::Tensor(t), _) => {
                    let padded = match t.kind() == Kind::Half {
                        true => pad_half(t, matches!(self.shape, Shape::TwoD { .. })),
                        false => None,
                    };
                    let used = match padded {
                        Some(p) => p,
                        None => t.contiguous(),
                    };
                    if !b.ctype.is_const && used.data_ptr() != t.data_ptr() {
                        write_back.push((*t, used.shallow_clone()));
                    }
                    let p = used.data_ptr() as u64;
                    keep.push(used);
                    Arg::Ptr(p)
                }
                (v, Pass::Reference) => {
                    let t = match (v, b.ctype.base) {
                        (Value::Int(i), _) => Tensor::from_slice(&[*i]),
                        (Value::Float(x), Base::Half2) => {
                            Tensor::from_slice(&[*x, *x]).to_kind(Kind::Half)
                        }
                        (Value::Float(x), _) => Tensor::from_slice(&[*x]),
                        (Value::Tensor(_), _) => unreachable!("matched above"),
                    }
                    .to_device(device);
                    let p = t.data_ptr() as u64;
                    keep.push(t);
                    Arg::Ptr(p)
                }
                (Value::Int(i), _) => Arg::I32(*i),
                (Value::Float(_), _) if b.ctype.base == Base::Half2 => {
                    return Err(err(
                        self.name(),
                        format!(
                            "`{}` is `{}`: a half2 passed by value is not supported; declare it `const half2 &`",
                            b.name, b.ctype_text
                        ),
                    ))
                }
                (Value::Float(x), _) => Arg::F32(*x),
            };
            cargs.push(arg);
        }
        let stream = ctx.default_stream();
        let mut builder = stream.launch_builder(&f);
        for a in &cargs {
            match a {
                Arg::Ptr(p) => builder.arg(p),
                Arg::I32(i) => builder.arg(i),
                Arg::F32(x) => builder.arg(x),
            };
        }
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments follow the kernel's declared parameters one by one (device
        // pointers of contiguous tensors of the declared element type on this device, kept alive
        // in `keep` until the synchronize below, and i32/f32 values); what the core does with
        // them is the caller's promise (`call`'s safety section).
        unsafe { builder.launch(cfg) }.map_err(|e| KernelError::Cuda(e.to_string()))?;
        stream
            .synchronize()
            .map_err(|e| KernelError::Cuda(e.to_string()))?;
        for (orig, used) in write_back {
            unpad_into(orig, &used)?;
        }
        drop(keep);
        Ok(())
    }
}

/// The folders that hold `cuda_fp16.h`, which every kernel includes: `$CUDA_HOME/include`,
/// `$CUDA_PATH/include`, `<dir>/../include` for each `$LD_LIBRARY_PATH` folder (where pip's
/// `nvidia-cuda-nvrtc` wheel puts it next to libnvrtc), `/usr/local/cuda/include`.
pub(crate) fn cuda_include_dirs() -> Vec<String> {
    let mut candidates = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Ok(d) = std::env::var(var) {
            candidates.push(std::path::PathBuf::from(d).join("include"));
        }
    }
    if let Ok(paths) = std::env::var("LD_LIBRARY_PATH") {
        for d in paths.split(':').filter(|d| !d.is_empty()) {
            candidates.push(std::path::Path::new(d).join("..").join("include"));
        }
    }
    candidates.push("/usr/local/cuda/include".into());
    let mut found: Vec<String> = candidates
        .into_iter()
        .filter(|d| d.join("cuda_fp16.h").is_file())
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    found.dedup();
    found.truncate(1);
    found
}

/// Compiles a kernel's CUDA source with NVRTC, finding `cuda_fp16.h` (see
/// [`cuda_include_dirs`]).
pub(crate) fn nvrtc(kernel: &str, src: &str) -> Result<cudarc::nvrtc::Ptx, KernelError> {
    let includes = cuda_include_dirs();
    let hint = match includes.is_empty() {
        true => "; no folder with cuda_fp16.h was found: set CUDA_HOME to a CUDA toolkit",
        false => "",
    };
    crate::cuda::compile_with(src, includes).map_err(|e| match e {
        KernelError::Cuda(m) => KernelError::Cuda(format!(
            "auto_cuda kernel `{kernel}`: {m}{hint}; fix the core (print it with `full_codes()`)"
        )),
        e => e,
    })
}

/// SpikingJelly's half2 padding: a tensor `x` with an odd count becomes `[x, x[-1]]` (flattened),
/// or, for a 2-D tensor of a 2-D kernel, `[x, x[:, -1]]` of shape `[T, N + 1]`. `None` when no
/// padding is needed.
pub(crate) fn pad_half(x: &Tensor, two_d: bool) -> Option<Tensor> {
    if two_d && x.dim() == 2 {
        let n = x.size()[1];
        (n % 2 != 0).then(|| Tensor::cat(&[x.shallow_clone(), x.narrow(1, n - 1, 1)], 1))
    } else {
        let flat = x.reshape([-1]);
        let n = flat.size()[0];
        (n % 2 != 0).then(|| Tensor::cat(&[flat.shallow_clone(), flat.narrow(0, n - 1, 1)], 0))
    }
}

/// Writes `used` (padded, or a contiguous copy) back into `orig`, dropping the padding.
pub(crate) fn unpad_into(orig: &Tensor, used: &Tensor) -> Result<(), KernelError> {
    let shape = orig.size();
    let src = if used.size() == shape {
        used.shallow_clone()
    } else if orig.dim() == 2 && used.dim() == 2 {
        used.narrow(1, 0, shape[1])
    } else {
        used.narrow(0, 0, orig.numel() as i64).reshape(&shape)
    };
    orig.shallow_clone()
        .f_copy_(&src)
        .map_err(|e| KernelError::Input(e.to_string()))
}

fn collect<'a, 'n>(
    args: impl IntoIterator<Item = (&'n str, KernelArg<'a>)>,
) -> Vec<(&'n str, KernelArg<'a>)> {
    args.into_iter().collect()
}

macro_rules! calls {
    ($ty:ty) => {
        impl $ty {
            /// SpikingJelly's `__call__`: runs the kernel with `grid · block` threads (1-D grid
            /// and blocks, as SpikingJelly's `(blocks,)`, `(threads,)`) over the arguments,
            /// bound to the parameters by name (every parameter needs one, `numel` and `N`
            /// included).
            ///
            /// CUDA tensors run the CUDA source, compiled by NVRTC at first use; CPU tensors run
            /// the CPU build (`float` and `int` parameters only). Const pointer parameters are
            /// made contiguous; the others are written in place and must be contiguous.
            ///
            /// # Errors
            /// An argument missing, unknown or of the wrong type, tensors on different devices,
            /// no GPU or driver ([`KernelError::CudaUnavailable`]), a core that does not compile
            /// (the compiler's message).
            ///
            /// # Safety
            /// The core is C code that runs as written: every read and write it makes through a
            /// pointer parameter must stay inside that tensor (for the `numel`, `N` and thread
            /// count given), as in SpikingJelly, where a wrong index is an out-of-bounds access.
            pub unsafe fn call<'a, 'n>(
                &self,
                grid: u32,
                block: u32,
                args: impl IntoIterator<Item = (&'n str, KernelArg<'a>)>,
            ) -> Result<(), KernelError> {
                self.spec().call(grid, block, collect(args))
            }

            /// SpikingJelly's `simple_call`: like [`call`](Self::call), with `numel` (and `N`
            /// for a 2-D kernel) taken from the tensors (the last one, the last 2-D one for a
            /// 2-D kernel, as SpikingJelly) and one thread per element (per neuron for a 2-D
            /// kernel). Do not pass `numel` or `N`; they are replaced.
            ///
            /// A float16 tensor on CUDA counts in `half2` pairs after padding (SpikingJelly
            /// passes the count of halves).
            ///
            /// # Errors
            /// As [`call`](Self::call), and no tensor (no 2-D tensor for a 2-D kernel).
            ///
            /// # Safety
            /// As [`call`](Self::call).
            pub unsafe fn simple_call<'a, 'n>(
                &self,
                args: impl IntoIterator<Item = (&'n str, KernelArg<'a>)>,
            ) -> Result<(), KernelError> {
                self.spec().simple_call(collect(args))
            }

            /// The C source of the CPU build (the core inside a loop over the threads), or why
            /// there is none (a `half2` parameter).
            pub fn cpu_codes(&self) -> Result<String, KernelError> {
                super::cpu::source(&self.spec())
            }
        }
    };
}

impl CKernel1D {
    pub(crate) fn spec(&self) -> Spec<'_> {
        Spec {
            base: &self.base,
            shape: Shape::OneD,
            cuda: self.full_codes(),
        }
    }
}

impl CKernel2D {
    pub(crate) fn spec(&self) -> Spec<'_> {
        Spec {
            base: &self.base,
            shape: Shape::TwoD {
                reverse: self.reverse,
                pre_core: self.pre_core(),
                post_core: self.post_core(),
            },
            cuda: self.full_codes(),
        }
    }
}

calls!(CKernel1D);
calls!(CKernel2D);
