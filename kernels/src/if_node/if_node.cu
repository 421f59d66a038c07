// IF: H = V + X
__device__ __forceinline__ float sj_h(float v, float x, float k) { return v + x; }
__device__ __forceinline__ float sj_dh_dv(float v, float k) { return 1.0f; }
__device__ __forceinline__ float sj_dh_dx(float v, float k) { return 1.0f; }
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) { return 0.0f; }
