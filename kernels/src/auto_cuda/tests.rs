use super::call::{bind, nvrtc, pad_half, unpad_into};
use super::*;
use crate::KernelError;
use tch::{Device, Kind, Tensor};

/// Python's `textwrap.dedent(s).strip('\n')`: how the docs print the kernels' text.
fn dedent(s: &str) -> String {
    let lines: Vec<&str> = s.split('\n').collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let out: Vec<&str> = lines
        .iter()
        .map(|l| match l.trim().is_empty() {
            true => "",
            false => &l[indent..],
        })
        .collect();
    out.join("\n").trim_matches('\n').to_string()
}

const HEAVISIDE_CORE: &str = "\n            y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;\n";
const CUMSUM_CORE: &str = "
                    if (t - dt < 0)
                    {
                        y[t] = x[t];
                    }
                    else
                    {
                        y[t] = x[t] + y[t - dt];
                    }
";

fn heaviside() -> CKernel1D {
    let mut k = CKernel1D::new("heaviside").unwrap();
    k.add_param("const float *", "x").unwrap();
    k.add_param("float *", "y").unwrap();
    k.set_core(HEAVISIDE_CORE);
    k
}

fn cumsum(reverse: bool) -> CKernel2D {
    let mut k = CKernel2D::new("cumsum", reverse).unwrap();
    k.add_param("const float *", "x").unwrap();
    k.add_param("float *", "y").unwrap();
    k.set_core(CUMSUM_CORE);
    k
}

// ---- the text, against SpikingJelly's ----

#[test]
fn auto_cuda_heaviside_text_matches_spikingjelly() {
    let k = heaviside();
    // SpikingJelly's `full_codes`, byte for byte.
    let python = "\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void heaviside(\n        const int & numel, const float * x, float * y\n        )\n        \n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < numel)\n            {\n        \n            y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;\n\n            }\n        }\n        ";
    assert_eq!(k.full_codes(), python);
    // The doc's printed output.
    let printed = r#"#include <cuda_fp16.h>
extern "C" __global__
void heaviside(
const int & numel, const float * x, float * y
)

{
    const int index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index < numel)
    {

    y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;

    }
}"#;
    assert_eq!(dedent(&k.full_codes()), printed);
    let debug = "\n//------declaration start------\n\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void heaviside(\n        const int & numel, const float * x, float * y\n        )\n        \n//------declaration end--------\n\n\n//------head start------\n\n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < numel)\n            {\n        \n//------head end--------\n\n\n//------core start------\n\n            y[index] = x[index] >= 0.0f ? 1.0f: 0.0f;\n\n//------core end--------\n\n\n//------tail start------\n\n            }\n        }\n        \n//------tail end--------\n\n";
    assert_eq!(k.full_codes_debug(), debug);
}

#[test]
fn auto_cuda_cumsum_text_matches_spikingjelly() {
    let k = cumsum(false);
    // SpikingJelly 0.0.0.0.14's `full_codes` (parameters in the order added; later versions
    // sort them by name, `N` before `numel`).
    let python = "\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void cumsum(\n        const int & numel, const int & N, const float * x, float * y\n        )\n        \n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < N)\n            {\n                const int dt = N;\n        \n                for(int t = index; t < numel; t += dt)\n                {\n            \n                    if (t - dt < 0)\n                    {\n                        y[t] = x[t];\n                    }\n                    else\n                    {\n                        y[t] = x[t] + y[t - dt];\n                    }\n\n                }\n        \n            }\n        }\n        ";
    assert_eq!(k.full_codes(), python);
    let printed = r#"#include <cuda_fp16.h>
extern "C" __global__
void cumsum(
const int & numel, const int & N, const float * x, float * y
)

{
    const int index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index < N)
    {
        const int dt = N;

        for(int t = index; t < numel; t += dt)
        {

            if (t - dt < 0)
            {
                y[t] = x[t];
            }
            else
            {
                y[t] = x[t] + y[t - dt];
            }

        }

    }
}"#;
    assert_eq!(dedent(&k.full_codes()), printed);
    let debug = "\n//------declaration start------\n\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void cumsum(\n        const int & numel, const int & N, const float * x, float * y\n        )\n        \n//------declaration end--------\n\n\n//------head start------\n\n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < N)\n            {\n                const int dt = N;\n        \n//------pre_core start------\n\n//------pre_core end--------\n\n\n                for(int t = index; t < numel; t += dt)\n                {\n            \n//------head end--------\n\n\n//------core start------\n\n                    if (t - dt < 0)\n                    {\n                        y[t] = x[t];\n                    }\n                    else\n                    {\n                        y[t] = x[t] + y[t - dt];\n                    }\n\n//------core end--------\n\n\n//------tail start------\n\n                }\n        \n//------post_core start------\n\n//------post_core end--------\n\n\n            }\n        }\n        \n//------tail end--------\n\n";
    assert_eq!(k.full_codes_debug(), debug);
}

#[test]
fn auto_cuda_empty_kernels_text_matches_spikingjelly() {
    let k = CKernel::new("example_ck").unwrap();
    assert_eq!(
        k.full_codes(),
        "\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void example_ck(\n        \n        )\n        {}"
    );
    assert_eq!(
        dedent(&k.full_codes()),
        "#include <cuda_fp16.h>\nextern \"C\" __global__\nvoid example_ck(\n\n)\n{}"
    );
    assert_eq!(
        k.full_codes_debug(),
        "\n//------declaration start------\n\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void example_ck(\n        \n        )\n        \n//------declaration end--------\n\n\n//------head start------\n{\n//------head end--------\n\n\n//------core start------\n\n//------core end--------\n\n\n//------tail start------\n}\n//------tail end--------\n\n"
    );
    let one = CKernel1D::new("temp_kernel").unwrap();
    assert_eq!(
        dedent(&one.full_codes()),
        "#include <cuda_fp16.h>\nextern \"C\" __global__\nvoid temp_kernel(\nconst int & numel\n)\n\n{\n    const int index = blockIdx.x * blockDim.x + threadIdx.x;\n    if (index < numel)\n    {\n\n    }\n}"
    );
    let two = CKernel2D::new("temp_kernel", false).unwrap();
    assert_eq!(
        dedent(&two.full_codes()),
        "#include <cuda_fp16.h>\nextern \"C\" __global__\nvoid temp_kernel(\nconst int & numel, const int & N\n)\n\n{\n    const int index = blockIdx.x * blockDim.x + threadIdx.x;\n    if (index < N)\n    {\n        const int dt = N;\n\n        for(int t = index; t < numel; t += dt)\n        {\n\n        }\n\n    }\n}"
    );
    // The add_param example: `const float*` is kept as typed.
    let mut ex = CKernel1D::new("example_ck").unwrap();
    ex.add_param("const float*", "x").unwrap();
    ex.add_param("const float*", "y").unwrap();
    ex.add_param("float", "z").unwrap();
    assert!(ex
        .declaration()
        .contains("\n        const int & numel, const float* x, const float* y, float z\n"));
}

#[test]
fn auto_cuda_reverse_loop_and_hooks() {
    let mut k = CKernel2D::new("r", true).unwrap();
    k.set_pre_core("A");
    k.set_post_core("B");
    k.set_core("C");
    assert_eq!(
        k.full_codes(),
        "\n        #include <cuda_fp16.h>\n        extern \"C\" __global__\n        void r(\n        const int & numel, const int & N\n        )\n        \n        {\n            const int index = blockIdx.x * blockDim.x + threadIdx.x;\n            if (index < N)\n            {\n                const int dt = N;\n        A\n                for(int t = numel - N + index; t >= 0; t -= dt)\n                {\n            C\n                }\n        B\n            }\n        }\n        "
    );
    assert!(k
        .full_codes_debug()
        .contains("\n//------pre_core start------\nA\n//------pre_core end--------\n\n"));
    assert!(k
        .full_codes_debug()
        .contains("\n//------post_core start------\nB\n//------post_core end--------\n\n"));
    assert_eq!((k.pre_core(), k.core(), k.post_core()), ("A", "C", "B"));
}

#[test]
fn auto_cuda_code_typer_and_block() {
    let mut typer = CodeTyper::new(4);
    {
        let mut block = CodeBlock::new(&mut typer);
        block.append("// swap x and y");
        block.append("float temp_var = x;");
        block.append("x = y;");
        block.append("y = temp_var;");
    }
    assert_eq!(
        typer.codes,
        "\n    {\n     // swap x and y;\n     float temp_var = x;\n     x = y;\n     y = temp_var;\n    }\n"
    );
    // The doc's printed output is this, dedented.
    assert_eq!(
        dedent(&typer.codes),
        "{\n // swap x and y;\n float temp_var = x;\n x = y;\n y = temp_var;\n}"
    );
    let mut typer = CodeTyper::new(4);
    typer.append("z = x * mask + y * (1.0f - mask);");
    typer.append("const float sigmoid_backward__sigmoid_ax = 1.0f / (1.0f + expf(- (2.0f) * x));\ny = (1.0f - sigmoid_backward__sigmoid_ax) * sigmoid_backward__sigmoid_ax * (2.0f);");
    assert_eq!(typer.codes, "\n    z = x * mask + y * (1.0f - mask);\n    const float sigmoid_backward__sigmoid_ax = 1.0f / (1.0f + expf(- (2.0f) * x));\n    y = (1.0f - sigmoid_backward__sigmoid_ax) * sigmoid_backward__sigmoid_ax * (2.0f);\n");
    assert!(startswiths("const half2 *", &["const half2", "half2"]));
    assert!(!startswiths("int", &[]));
    assert_eq!(
        wrap_with_comment("", "core"),
        "\n//------core start------\n\n//------core end--------\n\n"
    );
}

// ---- checks when building ----

fn input_msg(e: KernelError) -> String {
    match e {
        KernelError::Input(m) => m,
        e => panic!("expected KernelError::Input, got {e:?}"),
    }
}

#[test]
fn auto_cuda_add_param_checks() {
    let mut k = heaviside();
    let m = input_msg(k.add_param("double *", "z").unwrap_err());
    assert!(m.contains("`heaviside`") && m.contains("`double *`"), "{m}");
    assert!(m.contains("use float, half2 or int"), "{m}");
    let m = input_msg(k.add_param("float *", "index").unwrap_err());
    assert!(m.contains("`index` is a reserved cname"), "{m}");
    assert!(m.contains("rename your parameter"), "{m}");
    let m = input_msg(k.add_param("float *", "x").unwrap_err());
    assert!(m.contains("`x` has been added to cparams already"), "{m}");
    let m = input_msg(k.add_param("float *", "numel").unwrap_err());
    assert!(m.contains("`numel` has been added"), "{m}");
    let m = input_msg(k.add_param("float *", "2x").unwrap_err());
    assert!(m.contains("not a C identifier"), "{m}");
    let mut k2 = CKernel2D::new("k2", false).unwrap();
    for reserved in ["index", "dt", "t"] {
        let m = input_msg(k2.add_param("int", reserved).unwrap_err());
        assert!(m.contains("reserved cname"), "{m}");
    }
    let m = input_msg(CKernel1D::new("my kernel").unwrap_err());
    assert!(m.contains("`my kernel` is not a C identifier"), "{m}");
    // Every accepted spelling.
    for (i, ctype) in [
        "float",
        "const float",
        "float*",
        "const float *",
        "const float &",
        "int &",
        "const int&",
        "half2 *",
        "const half2 &",
        "int *",
    ]
    .iter()
    .enumerate()
    {
        k2.add_param(ctype, &format!("p{i}")).unwrap();
    }
    assert_eq!(k2.cparams().len(), 12);
    assert_eq!(k2.reserved_cnames(), ["index", "dt", "t"]);
}

// ---- NVRTC ----

#[test]
fn auto_cuda_sources_compile_with_nvrtc() {
    let mut half = CKernel1D::new("half_add").unwrap();
    half.add_param("const half2 *", "x").unwrap();
    half.add_param("half2 *", "y").unwrap();
    half.add_param("const half2 &", "b").unwrap();
    half.set_core("y[index] = __hadd2(x[index], b);");
    let mut hooks = cumsum(true);
    hooks.add_param("float *", "total").unwrap();
    hooks.set_pre_core("float acc = 0.0f;");
    hooks.set_post_core("total[index] = acc;");
    for src in [
        heaviside().full_codes(),
        heaviside().full_codes_debug(),
        cumsum(false).full_codes(),
        cumsum(true).full_codes_debug(),
        half.full_codes(),
        hooks.full_codes(),
    ] {
        if let Err(e) = nvrtc("test", &src) {
            panic!("{e}\n{src}");
        }
    }
    let mut bad = heaviside();
    bad.set_core("y[index] = undefined_thing;");
    match nvrtc("heaviside", &bad.full_codes()) {
        Err(KernelError::Cuda(m)) => {
            assert!(
                m.contains("auto_cuda kernel `heaviside`") && m.contains("undefined_thing"),
                "{m}"
            )
        }
        other => panic!("expected a CUDA compile error, got {other:?}"),
    }
}

// ---- CUDA launch without a GPU ----

#[test]
fn auto_cuda_launch_without_gpu_is_an_error() {
    if tch::Cuda::is_available() {
        return;
    }
    let k = heaviside();
    let x = Tensor::from_slice(&[1.0f32, -1.0]);
    let y = x.zeros_like();
    let bound = bind(
        &k.base,
        vec![
            ("numel", KernelArg::Int(2)),
            ("x", (&x).into()),
            ("y", (&y).into()),
        ],
    )
    .unwrap();
    match k.spec().run_cuda(0, 1, 512, &bound) {
        Err(KernelError::CudaUnavailable(_)) => {}
        other => panic!("expected CudaUnavailable, got {other:?}"),
    }
}

// ---- the CPU build ----

#[test]
fn auto_cuda_heaviside_runs_on_cpu() {
    let k = heaviside();
    let x = Tensor::rand([4, 4], (Kind::Float, Device::Cpu)) - 0.5;
    let x = Tensor::cat(
        &[
            x,
            Tensor::from_slice(&[0.0f32, -0.0])
                .view([1, 2])
                .repeat([1, 2]),
        ],
        0,
    );
    let y = x.zeros_like();
    // SAFETY: the core reads x[index] and writes y[index] for index < numel = x.numel().
    unsafe { k.simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap();
    assert!(y.equal(&x.ge(0.0).to_kind(Kind::Float)));
    // `call` with fewer threads than elements does what CUDA does: the rest is untouched.
    let y = x.zeros_like();
    // SAFETY: as above, with 3 threads.
    unsafe {
        k.call(
            1,
            3,
            [("numel", 20.into()), ("x", (&x).into()), ("y", (&y).into())],
        )
    }
    .unwrap();
    let flat = y.view([-1]);
    assert!(flat
        .narrow(0, 0, 3)
        .equal(&x.view([-1]).narrow(0, 0, 3).ge(0.0).to_kind(Kind::Float)));
    assert_eq!(
        flat.narrow(0, 3, 17)
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    let c = k.cpu_codes().unwrap();
    assert!(c.contains("static void sj_kernel(const int numel, const float * x, float * y, const int sj_threads)"), "{c}");
    assert!(c.contains("sj_kernel(*(const int *)sj_args[0], (const float *)sj_args[1], (float *)sj_args[2], sj_threads);"), "{c}");
}

#[test]
fn auto_cuda_cumsum_runs_on_cpu() {
    // The doc's example: x = [[3,0,2],[2,0,0],[2,3,2],[2,1,0]] gives y = [[3,0,2],[5,0,2],[7,3,4],[9,4,4]].
    let x = Tensor::from_slice(&[3.0f32, 0., 2., 2., 0., 0., 2., 3., 2., 2., 1., 0.]).view([4, 3]);
    let y = x.zeros_like();
    // SAFETY: t runs over index, index + N, ... < numel = 12, inside x and y.
    unsafe { cumsum(false).simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap();
    let want =
        Tensor::from_slice(&[3.0f32, 0., 2., 5., 0., 2., 7., 3., 4., 9., 4., 4.]).view([4, 3]);
    assert!(y.equal(&want), "{y}");
    let x = Tensor::randint(4, [7, 5], (Kind::Float, Device::Cpu));
    let y = x.zeros_like();
    // SAFETY: as above.
    unsafe { cumsum(false).simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap();
    assert!(y.equal(&x.cumsum(0, Kind::Float)));
    // The reverse loop with `t + dt`: a suffix sum; pre_core/post_core keep a per-neuron total.
    let mut rev = CKernel2D::new("suffix_sum", true).unwrap();
    rev.add_param("const float *", "x").unwrap();
    rev.add_param("float *", "y").unwrap();
    rev.add_param("float *", "total").unwrap();
    rev.add_param("const float &", "scale").unwrap();
    rev.set_pre_core("float acc = 0.0f;");
    rev.set_core("acc += x[t] * scale; y[t] = acc;");
    rev.set_post_core("total[index] = acc;");
    let (y, total) = (
        x.zeros_like(),
        Tensor::zeros([5], (Kind::Float, Device::Cpu)),
    );
    // SAFETY: t runs inside x and y; index < N = 5 inside total.
    unsafe {
        rev.simple_call([
            ("x", (&x).into()),
            ("y", (&y).into()),
            ("total", (&total).into()),
            ("scale", 2.into()),
        ])
    }
    .unwrap();
    let want = (x.flip([0]).cumsum(0, Kind::Float).flip([0])) * 2.0;
    assert!(y.equal(&want));
    assert!(total.equal(&(x.sum_dim_intlist([0i64].as_slice(), false, Kind::Float) * 2.0)));
}

#[test]
fn auto_cuda_int_params_on_cpu() {
    let mut k = CKernel1D::new("gather").unwrap();
    k.add_param("const int *", "idx").unwrap();
    k.add_param("const float *", "table").unwrap();
    k.add_param("float *", "y").unwrap();
    k.add_param("int", "offset").unwrap();
    k.set_core("y[index] = table[idx[index] + offset];");
    let idx = Tensor::from_slice(&[2i32, 0, 1, 1]);
    let table = Tensor::from_slice(&[10.0f32, 20.0, 30.0, 40.0]);
    let y = Tensor::zeros([4], (Kind::Float, Device::Cpu));
    // SAFETY: idx + offset stays in 0..4, inside table; index < 4 inside idx and y.
    unsafe {
        k.simple_call([
            ("idx", (&idx).into()),
            ("table", (&table).into()),
            ("offset", 1.into()),
            ("y", (&y).into()),
        ])
    }
    .unwrap();
    assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [40.0, 20.0, 30.0, 30.0]);
    // A non-contiguous const input is copied.
    let big = Tensor::from_slice(&[2i32, 9, 0, 9, 1, 9, 1, 9]);
    let strided = big.slice(0, 0, 8, 2);
    assert!(!strided.is_contiguous());
    let y2 = y.zeros_like();
    // SAFETY: as above.
    unsafe {
        k.call(
            1,
            4,
            [
                ("numel", 4.into()),
                ("idx", (&strided).into()),
                ("table", (&table).into()),
                ("offset", 1.into()),
                ("y", (&y2).into()),
            ],
        )
    }
    .unwrap();
    assert!(y2.equal(&y));
}

#[test]
fn auto_cuda_call_errors() {
    let k = heaviside();
    let x = Tensor::rand([6], (Kind::Float, Device::Cpu));
    let y = x.zeros_like();
    let call = |args: Vec<(&str, KernelArg)>| {
        // SAFETY: every call here errs before running, or runs heaviside within bounds.
        input_msg(unsafe { k.call(1, 6, args) }.unwrap_err())
    };
    // Missing parameter.
    let m = call(vec![("numel", 6.into()), ("x", (&x).into())]);
    assert!(
        m.contains("`heaviside`") && m.contains("`y` (`float *`) has no argument"),
        "{m}"
    );
    // Unknown argument.
    let m = call(vec![
        ("numel", 6.into()),
        ("x", (&x).into()),
        ("y", (&y).into()),
        ("z", 1.into()),
    ]);
    assert!(
        m.contains("`z` is not a parameter (the parameters are numel, x, y)"),
        "{m}"
    );
    // Given twice.
    let m = call(vec![
        ("numel", 6.into()),
        ("x", (&x).into()),
        ("x", (&x).into()),
        ("y", (&y).into()),
    ]);
    assert!(m.contains("`x` is given twice"), "{m}");
    // Wrong dtype.
    let xd = x.to_kind(Kind::Double);
    let m = call(vec![
        ("numel", 6.into()),
        ("x", (&xd).into()),
        ("y", (&y).into()),
    ]);
    assert!(
        m.contains("`x` is `const float *` and takes a Float tensor, got Double"),
        "{m}"
    );
    assert!(m.contains(".to_kind(Kind::Float)"), "{m}");
    // A number for a pointer, a tensor for a number, a float for an int.
    let m = call(vec![
        ("numel", 6.into()),
        ("x", 1.0f32.into()),
        ("y", (&y).into()),
    ]);
    assert!(
        m.contains("`x` is `const float *` and takes a tensor"),
        "{m}"
    );
    let m = call(vec![
        ("numel", (&x).into()),
        ("x", (&x).into()),
        ("y", (&y).into()),
    ]);
    assert!(
        m.contains("`numel` is `const int &` and takes a number"),
        "{m}"
    );
    let m = call(vec![
        ("numel", 6.5f32.into()),
        ("x", (&x).into()),
        ("y", (&y).into()),
    ]);
    assert!(m.contains("takes an i32, got the float 6.5"), "{m}");
    // Non-contiguous output.
    let y2 = Tensor::zeros([6, 2], (Kind::Float, Device::Cpu));
    let yt = y2.select(1, 0);
    let m = call(vec![
        ("numel", 6.into()),
        ("x", (&x).into()),
        ("y", (&yt).into()),
    ]);
    assert!(m.contains("written in place and must be contiguous"), "{m}");
    // No tensor at all.
    // SAFETY: errs before running.
    let m = input_msg(unsafe { k.simple_call([("numel", KernelArg::Int(3))]) }.unwrap_err());
    assert!(m.contains("no tensor among the arguments"), "{m}");
    // A 2-D kernel: tensors of at most 2 dimensions, and a 2-D one to take T and N from.
    let c = cumsum(false);
    let x3 = Tensor::rand([2, 3, 4], (Kind::Float, Device::Cpu));
    let y3 = x3.zeros_like();
    // SAFETY: errs before running.
    let m = input_msg(
        unsafe { c.simple_call([("x", (&x3).into()), ("y", (&y3).into())]) }.unwrap_err(),
    );
    assert!(
        m.contains("`x` has shape [2, 3, 4]; a 2-D kernel takes tensors of at most 2 dimensions"),
        "{m}"
    );
    // SAFETY: errs before running.
    let m =
        input_msg(unsafe { c.simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap_err());
    assert!(m.contains("no 2-D tensor"), "{m}");
}

#[test]
fn auto_cuda_cpu_build_errors() {
    // half2 on the CPU names the parameter.
    let mut half = CKernel1D::new("half_copy").unwrap();
    half.add_param("const half2 *", "x").unwrap();
    half.add_param("half2 *", "y").unwrap();
    half.set_core("y[index] = x[index];");
    let m = input_msg(half.cpu_codes().unwrap_err());
    assert!(
        m.contains("`half_copy`") && m.contains("`x` is `const half2 *`"),
        "{m}"
    );
    let x = Tensor::rand([4], (Kind::Float, Device::Cpu)).to_kind(Kind::Half);
    let y = x.zeros_like();
    // SAFETY: errs before running.
    let m = input_msg(
        unsafe { half.simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap_err(),
    );
    assert!(
        m.contains("the CPU build takes float and int parameters"),
        "{m}"
    );
    // A core the C compiler rejects: the compiler's message comes back.
    let mut bad = heaviside();
    bad.set_core("y[index] = no_such_variable;");
    let x = Tensor::rand([4], (Kind::Float, Device::Cpu));
    let y = x.zeros_like();
    // SAFETY: the build fails, nothing runs.
    let m = input_msg(
        unsafe { bad.simple_call([("x", (&x).into()), ("y", (&y).into())]) }.unwrap_err(),
    );
    assert!(m.contains("rejected the CPU build of the core"), "{m}");
    assert!(m.contains("no_such_variable"), "{m}");
}

#[test]
fn auto_cuda_half_padding() {
    let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_kind(Kind::Half);
    let p = pad_half(&x, false).unwrap();
    assert_eq!(
        Vec::<f32>::try_from(&p.to_kind(Kind::Float)).unwrap(),
        [1.0, 2.0, 3.0, 3.0]
    );
    assert!(pad_half(&p, false).is_none());
    // 2-D [T, N] with odd N: [x, x[:, -1]].
    let x2 = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
        .view([2, 3])
        .to_kind(Kind::Half);
    let p2 = pad_half(&x2, true).unwrap();
    assert_eq!(p2.size(), [2, 4]);
    let want = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 6.0]).view([2, 4]);
    assert!(p2.to_kind(Kind::Float).equal(&want));
    // In a 1-D kernel the same tensor is flattened: 6 elements, no padding.
    assert!(pad_half(&x2, false).is_none());
    // Unpadding writes the kernel's values back into the caller's tensor.
    let out = x2.zeros_like();
    unpad_into(&out, &(p2.shallow_clone() * 2.0)).unwrap();
    assert!(out.equal(&(x2.shallow_clone() * 2.0)));
    let out1 = x.zeros_like();
    unpad_into(&out1, &(p.shallow_clone() + 1.0)).unwrap();
    assert!(out1.equal(&(x.shallow_clone() + 1.0)));
    let x1 = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0])
        .view([5])
        .to_kind(Kind::Half);
    let out_1d_in_2d = pad_half(&x1, true).unwrap();
    assert_eq!(out_1d_in_2d.size(), [6]);
}
