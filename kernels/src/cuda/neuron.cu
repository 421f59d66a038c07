// Fused multi-step neuron kernels (FPTT and BPTT), one thread per neuron, the loop over T inside.
// Generated per configuration: the @...@ placeholders are replaced by the neuron's device functions
// (sj_h, sj_dh_dv, sj_dh_dx, sj_dh_dk), the surrogate's gradient expression of `over_th`, and the
// reset mode, detach_reset, threshold and reset constants. With @ADAPTS@ (Izhikevich) the state is
// [2, N]: V, then the adaptation current W, carried forward with sj_adapt and backward with the
// constant partial derivatives SJ_DH_DW, SJ_DW_DW, SJ_DW_DH and SJ_DW_DS.
// Tensors are stored as sj_t (float, or fp16 / bf16 held in 16-bit integers; sj_to and sj_from are
// defined next), read with sj_ld and written with sj_st; all arithmetic is in float (the decay and
// its gradient too). sj_rt(v) is v as stored then read back.
@STORAGE@
__device__ __forceinline__ float sj_ld(const sj_t* p, long i) { return sj_from(p[i]); }
__device__ __forceinline__ void sj_st(sj_t* p, long i, float v) { p[i] = sj_to(v); }
__device__ __forceinline__ float sj_rt(float v) { return sj_from(sj_to(v)); }

@CHARGE@

__device__ __forceinline__ float sj_reset(float h, float s) {
#if @HARD_RESET@
    return h * (1.0f - s) + @V_RESET@ * s;
#else
    return h - @V_TH@ * s;
#endif
}

extern "C" __global__ void sj_fptt(const sj_t* __restrict__ x_seq, const sj_t* __restrict__ v_init,
                                   const float* __restrict__ decay, sj_t* __restrict__ spike_seq,
                                   sj_t* __restrict__ v_seq, sj_t* __restrict__ v_last,
                                   sj_t* __restrict__ h_seq, int T, int N) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    const float k = decay ? decay[0] : 0.0f;
    float v = sj_ld(v_init, i);
#if @ADAPTS@
    float w = sj_ld(v_init, (long)N + i);
#endif
    for (int t = 0; t < T; t++) {
        const long idx = (long)t * N + i;
        // fire and reset from H as stored (rounded for 16-bit storage), as backward will see it
#if @ADAPTS@
        const float h = sj_rt(sj_h_adapt(v, sj_ld(x_seq, idx), w));
#else
        const float h = sj_rt(sj_h(v, sj_ld(x_seq, idx), k));
#endif
        const float s = h >= @V_TH@ ? 1.0f : 0.0f;
        v = sj_reset(h, s);
#if @ADAPTS@
        w = sj_adapt(w, h, s);
#endif
        sj_st(h_seq, idx, h);
        sj_st(spike_seq, idx, s);
        if (v_seq) sj_st(v_seq, idx, v);
    }
    sj_st(v_last, i, v);
#if @ADAPTS@
    sj_st(v_last, (long)N + i, w);
#endif
}

extern "C" __global__ void sj_bptt(const sj_t* __restrict__ grad_spike_seq,
                                   const sj_t* __restrict__ grad_v_seq,
                                   const sj_t* __restrict__ grad_v_last, const sj_t* __restrict__ h_seq,
                                   const sj_t* __restrict__ v_init, const float* __restrict__ decay,
                                   sj_t* __restrict__ grad_x_seq, sj_t* __restrict__ grad_v_init,
                                   float* __restrict__ grad_decay, int T, int N, int gs_stride) {
    // gs_stride 0: one gradient value for every spike (a broadcast, e.g. of sum()).
    // Threads past N stay alive (inactive) for the warp reduction of grad_decay at the end.
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = i < N;
    const float k = decay ? decay[0] : 0.0f;
    float gk = 0.0f;
    if (active) {
    float carry = grad_v_last ? sj_ld(grad_v_last, i) : 0.0f;  // dL/dH[t+1] * dH[t+1]/dV[t]
#if @ADAPTS@
    float carry_w = grad_v_last ? sj_ld(grad_v_last, (long)N + i) : 0.0f;  // dL/dW[t]
#endif
    // keep: 0 with detach_reset; SpikingJelly's AdaptBaseNode never detaches the spike in V_reset * S
    const float keep = 1.0f - @DETACH_RESET@;
    const float keep_r = @ADAPTS@ ? 1.0f : keep;
    for (int t = T - 1; t >= 0; t--) {
        const long idx = (long)t * N + i;
        const float h = sj_ld(h_seq, idx);
        const float over_th = h - @V_TH@;
        const float s = over_th >= 0.0f ? 1.0f : 0.0f;
        const float grad_s_to_h = @SURROGATE_GRAD@;
#if @HARD_RESET@
        const float grad_v_to_h = 1.0f - s + (@V_RESET@ * keep_r - h * keep) * grad_s_to_h;
#else
        const float grad_v_to_h = 1.0f - @V_TH@ * grad_s_to_h * keep;
#endif
        const float gv = carry + (grad_v_seq ? sj_ld(grad_v_seq, idx) : 0.0f);
        float gh = gv * grad_v_to_h + sj_ld(grad_spike_seq, idx * gs_stride) * grad_s_to_h;
#if @ADAPTS@
        gh += carry_w * (SJ_DW_DH + SJ_DW_DS * grad_s_to_h);
        carry_w = carry_w * SJ_DW_DW + gh * SJ_DH_DW;
#endif
        float v_prev;
        if (t > 0) {
            const float hp = sj_ld(h_seq, idx - N);
            v_prev = sj_reset(hp, hp >= @V_TH@ ? 1.0f : 0.0f);
        } else {
            v_prev = sj_ld(v_init, i);
        }
        sj_st(grad_x_seq, idx, gh * sj_dh_dx(v_prev, k));
        gk += gh * sj_dh_dk(v_prev, h, k);
        carry = gh * sj_dh_dv(v_prev, k);
    }
    sj_st(grad_v_init, i, carry);
#if @ADAPTS@
    sj_st(grad_v_init, (long)N + i, carry_w);
#endif
    }
    if (grad_decay) {
        // sum over the warp (blocks are whole warps), then one atomic per warp
        for (int o = 16; o > 0; o >>= 1) gk += __shfl_down_sync(0xffffffffu, gk, o);
        if ((threadIdx.x & 31) == 0) atomicAdd(grad_decay, gk);
    }
}
