// LIF with a fixed time constant tau
__device__ __forceinline__ float sj_h(float v, float x, float k) {
#if DECAY_INPUT
    return v + (x - (v - V_RESET)) / TAU;
#else
    return v - (v - V_RESET) / TAU + x;
#endif
}
__device__ __forceinline__ float sj_dh_dv(float v, float k) { return 1.0f - 1.0f / TAU; }
__device__ __forceinline__ float sj_dh_dx(float v, float k) { return DECAY_INPUT ? 1.0f / TAU : 1.0f; }
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) { return 0.0f; }
