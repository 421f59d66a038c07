// Izhikevich (AdaptBaseNode), after QIF's device functions: H = V + (X + a0 (V - v_rest)(V - v_c) - W) / tau,
// then W = W + (a (H - v_rest) - W) / tau_w + b S.
__device__ __forceinline__ float sj_h_adapt(float v, float x, float w) { return v + (x + (v - IZ_V_REST) * (v - IZ_V_C) * IZ_SHARPNESS - w) / IZ_TAU_CHARGE; }
__device__ __forceinline__ float sj_adapt(float w, float h, float s) { return (w + (IZ_COUPLING * (h - IZ_V_REST) - w) * IZ_INV_TAU_W) + s * IZ_JUMP; }
#define SJ_DH_DW (-1.0f / IZ_TAU_CHARGE)
#define SJ_DW_DW (1.0f - IZ_INV_TAU_W)
#define SJ_DW_DH (IZ_COUPLING * IZ_INV_TAU_W)
#define SJ_DW_DS IZ_JUMP
