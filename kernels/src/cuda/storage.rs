//! The element type that the CUDA kernels read and write: float32, or 16-bit floats (fp16, bf16)
//! that the kernels convert to float in registers, so all arithmetic stays in float32 while memory
//! traffic, the bound of these kernels, halves. (SpikingJelly's `half2` kernels compute in half
//! precision; sj keeps float math and half storage.)
use tch::Kind;

/// A tensor element type the CUDA kernels take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// float32.
    F32,
    /// float16 (IEEE half), stored in 16 bits, computed in float32.
    F16,
    /// bfloat16, stored in 16 bits, computed in float32.
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

    /// CUDA C: the type `sj_t` with `sj_t sj_to(float)` (round to the storage) and
    /// `float sj_from(sj_t)`, by PTX conversions or bit operations, so no CUDA header is needed.
    pub fn cuda(self) -> &'static str {
        match self {
            Storage::F32 => {
                "typedef float sj_t;\n\
                 __device__ __forceinline__ sj_t sj_to(float v) { return v; }\n\
                 __device__ __forceinline__ float sj_from(sj_t v) { return v; }\n"
            }
            Storage::F16 => {
                "typedef unsigned short sj_t;\n\
                 __device__ __forceinline__ sj_t sj_to(float v) {\n\
                 \x20   sj_t h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(v)); return h;\n}\n\
                 __device__ __forceinline__ float sj_from(sj_t h) {\n\
                 \x20   float f; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(h)); return f;\n}\n"
            }
            Storage::BF16 => {
                // bf16 is the upper half of a float32; rounding to nearest even, as libtorch does.
                "typedef unsigned short sj_t;\n\
                 __device__ __forceinline__ sj_t sj_to(float v) {\n\
                 \x20   unsigned int u = __float_as_uint(v);\n\
                 \x20   u = (u & 0x7fffffffu) > 0x7f800000u ? (u | 0x00400000u) : u + 0x7fffu + ((u >> 16) & 1u);\n\
                 \x20   return (sj_t)(u >> 16);\n}\n\
                 __device__ __forceinline__ float sj_from(sj_t v) { return __uint_as_float(((unsigned int)v) << 16); }\n"
            }
        }
    }
}
