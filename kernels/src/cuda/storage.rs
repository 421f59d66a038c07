//! The element type that the CUDA kernels read and write: float32, or 16-bit floats (fp16, bf16)
//! that the kernels convert to float in registers, so all arithmetic stays in float32 while memory
//! traffic, the bound of these kernels, halves. (SpikingJelly's `half2` kernels compute in half
//! precision; sj keeps float math and half storage.)
use tch::Kind;

/// A tensor element type the CUDA kernels take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    F32,
    F16,
    BF16,
}

impl Storage {
    /// The storage of a tensor kind, if the kernels take it.
    pub fn of(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Float => Some(Storage::F32),
            Kind::Half => Some(Storage::F16),
            Kind::BFloat16 => Some(Storage::BF16),
            _ => None,
        }
    }

    /// CUDA C: the type `sj_t` with `float sj_ld(const sj_t*, long)` and
    /// `void sj_st(sj_t*, long, float)` (PTX conversions, so no CUDA header is needed).
    pub fn cuda(self) -> &'static str {
        match self {
            Storage::F32 => {
                "typedef float sj_t;\n\
                 __device__ __forceinline__ float sj_ld(const sj_t* p, long i) { return p[i]; }\n\
                 __device__ __forceinline__ void sj_st(sj_t* p, long i, float v) { p[i] = v; }\n"
            }
            Storage::F16 => {
                "typedef unsigned short sj_t;\n\
                 __device__ __forceinline__ float sj_ld(const sj_t* p, long i) {\n\
                 \x20   float f; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(p[i])); return f;\n}\n\
                 __device__ __forceinline__ void sj_st(sj_t* p, long i, float v) {\n\
                 \x20   unsigned short h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(v)); p[i] = h;\n}\n"
            }
            Storage::BF16 => {
                // bf16 is the upper half of a float32; stores round to nearest even, as libtorch does.
                "typedef unsigned short sj_t;\n\
                 __device__ __forceinline__ float sj_ld(const sj_t* p, long i) { return __uint_as_float(((unsigned int)p[i]) << 16); }\n\
                 __device__ __forceinline__ void sj_st(sj_t* p, long i, float v) {\n\
                 \x20   unsigned int u = __float_as_uint(v);\n\
                 \x20   u = (u & 0x7fffffffu) > 0x7f800000u ? (u | 0x00400000u) : u + 0x7fffu + ((u >> 16) & 1u);\n\
                 \x20   p[i] = (unsigned short)(u >> 16);\n}\n"
            }
        }
    }
}
