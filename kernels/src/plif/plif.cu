// ParametricLIF: decay k = sigmoid(w) passed to every function
__device__ __forceinline__ float sj_h(float v, float x, float k) {
#if DECAY_INPUT
    return v + (x - (v - V_RESET)) * k;
#else
    return v - (v - V_RESET) * k + x;
#endif
}
__device__ __forceinline__ float sj_dh_dv(float v, float k) { return 1.0f - k; }
__device__ __forceinline__ float sj_dh_dx(float v, float k) { return DECAY_INPUT ? k : 1.0f; }
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) { return DECAY_INPUT ? (h - v) / k : V_RESET - v; }
