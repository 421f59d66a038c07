// QIF: H = V + (X + a0 (V - v_rest)(V - v_c)) / tau
__device__ __forceinline__ float sj_h(float v, float x, float k) { return v + (x + (v - V_REST) * (v - V_C) * A0) / TAU; }
__device__ __forceinline__ float sj_dh_dv(float v, float k) { return 1.0f + A0 * (2.0f * v - V_REST - V_C) / TAU; }
__device__ __forceinline__ float sj_dh_dx(float v, float k) { return 1.0f / TAU; }
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) { return 0.0f; }
