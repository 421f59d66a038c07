//! The CPU build: the kernel's core inside a C loop over the threads, compiled by the system C
//! compiler into a shared library, loaded with `dlopen` and cached for the process by source.
use super::call::{Bound, Shape, Spec, Value};
use super::kernel::{Base, Pass};
use crate::error::KernelError;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr, CString};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

/// The library's entry: the argument pointers in declaration order, and the thread count.
type Entry = unsafe extern "C" fn(*const *mut c_void, c_int);

fn err(kernel: &str, msg: impl std::fmt::Display) -> KernelError {
    KernelError::Input(format!("auto_cuda kernel `{kernel}`: {msg}"))
}

/// The C source of the CPU build of `spec`: `float` and `int` parameters only. References become
/// values; `index` (and `dt`, `t`) are defined as in the CUDA head, with one loop iteration per
/// thread.
pub(crate) fn source(spec: &Spec) -> Result<String, KernelError> {
    let k = spec.base.kernel_name();
    let mut decls = Vec::new();
    let mut casts = Vec::new();
    for (i, (name, ctype)) in spec.base.typed_params().into_iter().enumerate() {
        if ctype.base == Base::Half2 {
            return Err(err(
                k,
                format!(
                    "the CPU build takes float and int parameters, and `{name}` is `{}`; run half2 \
                     kernels on CUDA tensors, or declare `{name}` as float for the CPU",
                    spec.base
                        .cparams()
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("", |(_, t)| t.as_str())
                ),
            ));
        }
        let c = if ctype.is_const { "const " } else { "" };
        let b = ctype.base.name();
        match ctype.pass {
            Pass::Pointer => {
                decls.push(format!("{c}{b} * {name}"));
                casts.push(format!("({c}{b} *)sj_args[{i}]"));
            }
            _ => {
                decls.push(format!("{c}{b} {name}"));
                casts.push(format!("*(const {b} *)sj_args[{i}]"));
            }
        }
    }
    let core = spec.base.core();
    let body = match spec.shape {
        Shape::OneD => format!("        if (index < numel)\n        {{\n{core}\n        }}\n"),
        Shape::TwoD {
            reverse,
            pre_core,
            post_core,
        } => {
            let header = match reverse {
                true => "for(int t = numel - N + index; t >= 0; t -= dt)",
                false => "for(int t = index; t < numel; t += dt)",
            };
            format!(
                "        if (index < N)\n        {{\n            const int dt = N;\n{pre_core}\n            {header}\n            {{\n{core}\n            }}\n{post_core}\n        }}\n"
            )
        }
    };
    Ok(format!(
        "/* CPU build of the sj auto_cuda kernel `{k}` (generated) */\n\
         #include <math.h>\n\n\
         static void sj_kernel({params}, const int sj_threads)\n\
         {{\n    \
             for (int sj_thread = 0; sj_thread < sj_threads; sj_thread++)\n    \
             {{\n        \
                 const int index = sj_thread;\n\
         {body}    \
             }}\n\
         }}\n\n\
         void sj_entry(void **sj_args, const int sj_threads)\n\
         {{\n    \
             sj_kernel({args}, sj_threads);\n\
         }}\n",
        params = decls.join(", "),
        args = casts.join(", "),
    ))
}

/// The C compiler: `$CC` (a program and its arguments), else `cc`.
fn compiler() -> (String, Vec<String>) {
    let cc = std::env::var("CC").ok().filter(|s| !s.trim().is_empty());
    let cc = cc.unwrap_or_else(|| "cc".into());
    let mut words = cc.split_whitespace().map(String::from);
    let prog = words.next().unwrap_or_else(|| "cc".into());
    (prog, words.collect())
}

/// Compiles and loads `src` once per process.
fn build(kernel: &str, src: &str) -> Result<Entry, KernelError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    let poisoned = |_| err(kernel, "the CPU build cache is poisoned (an earlier panic)");
    // Held through the build: one compile per source, and no two threads on the same files.
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .map_err(poisoned)?;
    if let Some(f) = cache.get(src) {
        return Ok(*f);
    }
    let mut h = DefaultHasher::new();
    src.hash(&mut h);
    let dir = std::env::temp_dir().join("sj-auto-cuda");
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(kernel, format!("cannot create {}: {e}", dir.display())))?;
    let stem = format!("{kernel}-{:016x}-{}", h.finish(), std::process::id());
    let c_path = dir.join(format!("{stem}.c"));
    let so_path = dir.join(format!("{stem}.so"));
    std::fs::write(&c_path, src)
        .map_err(|e| err(kernel, format!("cannot write {}: {e}", c_path.display())))?;
    let (prog, extra) = compiler();
    // No contraction into fused multiply-adds: each operation rounds as written (NVRTC gets
    // `--fmad=false` likewise).
    let out = std::process::Command::new(&prog)
        .args(&extra)
        .args(["-O2", "-shared", "-fPIC", "-ffp-contract=off", "-o"])
        .arg(&so_path)
        .arg(&c_path)
        .arg("-lm")
        .output()
        .map_err(|e| {
            err(
                kernel,
                format!(
                    "no C compiler for the CPU build: could not run `{prog}` ({e}); install one \
                     (e.g. gcc) or point the CC environment variable at it"
                ),
            )
        })?;
    if !out.status.success() {
        return Err(err(
            kernel,
            format!(
                "the C compiler (`{prog}`) rejected the CPU build of the core; fix the core (the \
                 source is {}, or `cpu_codes()`):\n{}",
                c_path.display(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            ),
        ));
    }
    let path = CString::new(so_path.to_string_lossy().as_bytes())
        .map_err(|_| err(kernel, "the temporary directory's path contains a NUL byte"))?;
    // SAFETY: dlopen with a valid C string; the library is ours (just compiled from `src`, which
    // has no constructors) and stays loaded for the process, so its functions never dangle.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(err(kernel, format!("dlopen failed: {}", dlerror())));
    }
    let sym = CString::new("sj_entry").expect("no NUL");
    // SAFETY: `handle` is a live library handle and `sym` a valid C string.
    let f = unsafe { libc::dlsym(handle, sym.as_ptr()) };
    if f.is_null() {
        return Err(err(
            kernel,
            format!("no sj_entry in the library: {}", dlerror()),
        ));
    }
    // SAFETY: `sj_entry` is defined in `src` as `void sj_entry(void **, const int)`, which is
    // `Entry`'s C ABI signature.
    let f: Entry = unsafe { std::mem::transmute::<*mut c_void, Entry>(f) };
    // Loaded: the mapping outlives the files. A failed build keeps its `.c` for the message.
    let _ = std::fs::remove_file(&c_path);
    let _ = std::fs::remove_file(&so_path);
    cache.insert(src.to_string(), f);
    Ok(f)
}

fn dlerror() -> String {
    // SAFETY: dlerror returns null or a valid C string owned by libc, copied out at once.
    let msg = unsafe { libc::dlerror() };
    match msg.is_null() {
        true => "unknown error".into(),
        // SAFETY: non-null, NUL-terminated (see above).
        false => unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned(),
    }
}

/// Runs the CPU build with `threads` threads (one loop iteration each) over `bound` (CPU
/// tensors of the declared kinds, checked by the caller).
pub(crate) fn run(spec: &Spec, threads: i32, bound: &[Bound]) -> Result<(), KernelError> {
    let k = spec.base.kernel_name();
    let src = source(spec)?;
    let entry = build(k, &src)?;
    if threads <= 0 {
        return Ok(());
    }
    // Stable homes for the values and the contiguous copies while the kernel runs.
    let mut ints: Vec<Box<i32>> = Vec::new();
    let mut floats: Vec<Box<f32>> = Vec::new();
    let mut keep = Vec::new();
    let mut ptrs: Vec<*mut c_void> = Vec::with_capacity(bound.len());
    for b in bound {
        let p = match &b.value {
            Value::Tensor(t) => {
                let c = t.contiguous();
                let p = c.data_ptr();
                keep.push(c);
                p
            }
            Value::Int(i) => {
                ints.push(Box::new(*i));
                &mut **ints.last_mut().expect("pushed") as *mut i32 as *mut c_void
            }
            Value::Float(x) => {
                floats.push(Box::new(*x));
                &mut **floats.last_mut().expect("pushed") as *mut f32 as *mut c_void
            }
        };
        ptrs.push(p);
    }
    // SAFETY: `ptrs` holds one pointer per declared parameter, in order: the data of a
    // contiguous CPU tensor of the declared element type (kept alive in `keep`), or a boxed
    // i32/f32 (alive in `ints`/`floats`) read by value, as `sj_entry` casts them. Non-const
    // tensors were contiguous already, so writes land in the caller's tensors. Bounds inside
    // the core are the caller's promise (`call`'s safety section).
    unsafe { entry(ptrs.as_ptr(), threads) };
    drop(keep);
    Ok(())
}
