// EIF: H = V + (X + v_rest - V + delta_T exp((V - theta_rh) / delta_T)) / tau
__device__ __forceinline__ float sj_h(float v, float x, float k) { return v + (x + V_REST - v + expf((v - THETA_RH) / DELTA_T) * DELTA_T) / TAU; }
__device__ __forceinline__ float sj_dh_dv(float v, float k) { return 1.0f + (expf((v - THETA_RH) / DELTA_T) - 1.0f) / TAU; }
__device__ __forceinline__ float sj_dh_dx(float v, float k) { return 1.0f / TAU; }
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) { return 0.0f; }
