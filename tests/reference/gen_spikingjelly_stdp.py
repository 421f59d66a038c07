"""Generates tests/data/spikingjelly_stdp.npz: STDP-family learning-rule outputs from Python SpikingJelly
0.0.0.0.14 (`spikingjelly.activation_based.learning`), for the Rust `sj::learning` parity tests.

    source ~/.cache/sj/env.sh
    pip install --no-deps --target /work/tmp/sj014 ../shared/bench/whl/spikingjelly-0.0.0.0.14-py3-none-any.whl
    PYTHONPATH=/work/tmp/sj014 python tests/reference/gen_spikingjelly_stdp.py

(`monitor.py` imports torch.utils.tensorboard; when the tensorboard package is missing this script installs
an empty stand-in module before importing SpikingJelly: only GPUMonitor uses it.)

Every array is float32 and named `<case>.<field>`; scalars (tau values, flags) are stored with shape [1].
Cases (all CPU, fixed seeds, small sizes):
  lin_id, lin_f, lin_none   stdp_linear_single_step, Linear(5->3, no bias), batch 4, tau_pre 2, tau_post 3;
                            lin_f uses f_pre = clamp(w, -1, 1), f_post = 1 - w on a weight scaled to |w| ~ 1.5;
                            lin_none passes trace_pre = trace_post = None.
  c2d_s1, c2d_s2, c2d_circ, c2d_rect   stdp_conv2d_single_step on Conv2d(2->3, k3, no bias), batch 2, 6x6:
                            padding 1 stride 1 (random padded traces), padding 1 stride 2 (traces None),
                            padding 1 padding_mode 'circular' stride 1, kernel (3,2) stride (2,1) padding (1,0).
  c1d_s1, c1d_s2            stdp_conv1d_single_step on Conv1d(2->3, k3, padding 1), batch 2, length 8 (stride 1 / 2).
  ms_lin, ms_c2d            stdp_multi_step on Linear(5->3) T=5 and Conv2d(2->3,k3,p1) T=3, traces None.
  lrn_s, lrn_m              STDPLearner on Linear(6->4, no bias)+IFNode, T=3, N=2: step_mode 's' (T forward calls,
                            one step(on_grad=False)) and 'm' (one forward on [T,N,6]); plus the weight.grad left by
                            step(on_grad=True) from grad None, from a zero grad, and with scale=0.5.
  lrn_c2d                   STDPLearner 's' on Conv2d(1->2, k3, p1, no bias)+IFNode, T=2, N=2, 4x4.
  mstdp                     mstdp_linear_single_step (batched: [B,N_in]/[B,N_out] -> eligibility [B,N_out,N_in]).
  mstdpet                   mstdpet_linear_single_step (unbatched only: 1-D spikes; torch.outer rejects 2-D).
  mstdp_lrn, mstdpet_lrn    MSTDPLearner / MSTDPETLearner over T=4 forward+step(reward) calls, then reset() and one
                            more forward+step, which exposes the eligibility kept across reset.
"""
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torch.utils.tensorboard  # noqa: F401
except Exception:  # tensorboard not installed: monitor.py only needs the name SummaryWriter
    stub = types.ModuleType("torch.utils.tensorboard")
    stub.SummaryWriter = None
    sys.modules["torch.utils.tensorboard"] = stub

import spikingjelly
from spikingjelly.activation_based import functional, layer, learning, neuron

OUT = Path(__file__).resolve().parent.parent / "data"
arrays = {}


def put(case, **kw):
    for k, v in kw.items():
        if isinstance(v, (int, float, bool)):
            v = np.array([float(v)], dtype=np.float32)
        elif isinstance(v, torch.Tensor):
            v = v.detach().cpu().numpy()
        arrays[f"{case}.{k}"] = np.asarray(v, dtype=np.float32)


def spikes(*shape, p=0.5):
    return (torch.rand(shape) < p).float()


def unfold_delta_w(conv_weight, in_padded, out, tr_pre, tr_post, stride, f_pre, f_post):
    """Independent im2col formulation (used only to check the spec's claim of equivalence)."""
    if conv_weight.dim() == 3:  # conv1d -> treat as conv2d with H=1
        return unfold_delta_w(conv_weight.unsqueeze(2), in_padded.unsqueeze(2), out.unsqueeze(2),
                              tr_pre.unsqueeze(2), tr_post.unsqueeze(2), (1, stride[0]), f_pre, f_post).squeeze(2)
    k = conv_weight.shape[2:]
    u_in = F.unfold(in_padded, k, stride=stride)  # [B, C_in*kh*kw, L]
    u_tr = F.unfold(tr_pre, k, stride=stride)
    B, C_out = out.shape[:2]
    o = out.reshape(B, C_out, -1)
    tp = tr_post.reshape(B, C_out, -1)
    post = torch.einsum("bol,bkl->ok", o, u_tr).reshape(conv_weight.shape)
    pre = torch.einsum("bol,bkl->ok", tp, u_in).reshape(conv_weight.shape)
    return f_post(conv_weight) * post - f_pre(conv_weight) * pre


ident = lambda x: x  # noqa: E731

# ---------------------------------------------------------------- a. linear single step
torch.manual_seed(0)
for case, fpre, fpost, wscale, given_traces in [
    ("lin_id", ident, ident, 1.0, True),
    ("lin_f", lambda w: torch.clamp(w, -1, 1), lambda w: 1 - w, 4.0, True),
    ("lin_none", ident, ident, 1.0, False),
]:
    fc = nn.Linear(5, 3, bias=False)
    fc.weight.data *= wscale
    s_in, s_out = spikes(4, 5), spikes(4, 3)
    tr_pre0 = torch.rand(4, 5) if given_traces else None
    tr_post0 = torch.rand(4, 3) if given_traces else None
    tp, tq, dw = learning.stdp_linear_single_step(fc, s_in, s_out, tr_pre0, tr_post0, 2.0, 3.0, fpre, fpost)
    put(case, weight=fc.weight, in_spike=s_in, out_spike=s_out, tau_pre=2.0, tau_post=3.0,
        trace_pre_out=tp, trace_post_out=tq, delta_w=dw)
    if given_traces:
        put(case, trace_pre_in=tr_pre0, trace_post_in=tr_post0)
    # independent check of the formula
    tp_ref = (tr_pre0 if given_traces else 0.) * (1 - 1 / 2.0) + s_in
    tq_ref = (tr_post0 if given_traces else 0.) * (1 - 1 / 3.0) + s_out
    ref = fpost(fc.weight.data) * (s_out.T @ tp_ref) - fpre(fc.weight.data) * (tq_ref.T @ s_in)
    assert torch.allclose(ref, dw, atol=1e-6), case

# ---------------------------------------------------------------- b. conv single step
torch.manual_seed(1)
conv_cases = [
    # name, dims, kwargs, random traces?
    ("c2d_s1", 2, dict(kernel_size=3, padding=1, stride=1), True),
    ("c2d_s2", 2, dict(kernel_size=3, padding=1, stride=2), False),
    ("c2d_circ", 2, dict(kernel_size=3, padding=1, stride=1, padding_mode="circular"), True),
    ("c2d_rect", 2, dict(kernel_size=(3, 2), padding=(1, 0), stride=(2, 1)), True),
    ("c1d_s1", 1, dict(kernel_size=3, padding=1, stride=1), True),
    ("c1d_s2", 1, dict(kernel_size=3, padding=1, stride=2), False),
]
for case, dims, kw, given_traces in conv_cases:
    if dims == 2:
        conv = nn.Conv2d(2, 3, bias=False, **kw)
        x = spikes(2, 2, 6, 6)
        fn = learning.stdp_conv2d_single_step
    else:
        conv = nn.Conv1d(2, 3, bias=False, **kw)
        x = spikes(2, 2, 8)
        fn = learning.stdp_conv1d_single_step
    with torch.no_grad():
        y_shape = conv(x).shape
    s_out = spikes(*y_shape)
    pad = conv._reversed_padding_repeated_twice
    x_pad = F.pad(x, pad, mode="constant" if conv.padding_mode == "zeros" else conv.padding_mode)
    tr_pre0 = torch.rand(x_pad.shape) if given_traces else None
    tr_post0 = torch.rand(y_shape) if given_traces else None
    tp, tq, dw = fn(conv, x, s_out, tr_pre0, tr_post0, 2.0, 3.0)
    assert tp.shape == x_pad.shape and tq.shape == y_shape
    ref = unfold_delta_w(conv.weight.data, x_pad, s_out, tp, tq, conv.stride, ident, ident)
    assert torch.allclose(ref, dw, atol=1e-5), case
    put(case, weight=conv.weight, in_spike=x, in_spike_padded=x_pad, out_spike=s_out, tau_pre=2.0,
        tau_post=3.0, stride=torch.tensor(conv.stride, dtype=torch.float32),
        padding=torch.tensor(conv.padding, dtype=torch.float32),
        trace_pre_out=tp, trace_post_out=tq, delta_w=dw)
    if given_traces:
        put(case, trace_pre_in=tr_pre0, trace_post_in=tr_post0)

# ---------------------------------------------------------------- c. multi step
torch.manual_seed(2)
fc = nn.Linear(5, 3, bias=False)
x, y = spikes(5, 4, 5), spikes(5, 4, 3)
tp, tq, dw = learning.stdp_multi_step(fc, x, y, None, None, 2.0, 3.0)
put("ms_lin", weight=fc.weight, in_spike=x, out_spike=y, tau_pre=2.0, tau_post=3.0,
    trace_pre_out=tp, trace_post_out=tq, delta_w=dw)
conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
x, y = spikes(3, 2, 2, 6, 6), spikes(3, 2, 3, 6, 6)
tp, tq, dw = learning.stdp_multi_step(conv, x, y, None, None, 2.0, 3.0)
put("ms_c2d", weight=conv.weight, in_spike=x, out_spike=y, tau_pre=2.0, tau_post=3.0,
    trace_pre_out=tp, trace_post_out=tq, delta_w=dw)

# ---------------------------------------------------------------- d. STDPLearner
T, N = 3, 2


def make_net(step_mode, seed=3):
    torch.manual_seed(seed)
    net = nn.Sequential(layer.Linear(6, 4, bias=False), neuron.IFNode())
    net[0].weight.data = net[0].weight.data.abs() * 2.0  # make the IF neurons fire now and then
    functional.set_step_mode(net, step_mode)
    return net


torch.manual_seed(30)
x_seq = spikes(T, N, 6, p=0.6)

# step mode 's': T forward calls, then one step
net = make_net("s")
lrn = learning.STDPLearner("s", net[0], net[1], tau_pre=2.0, tau_post=3.0)
with torch.no_grad():
    out_s = torch.stack([net(x_seq[t]) for t in range(T)])
n_records = len(lrn.in_spike_monitor.records)
dw_s = lrn.step(on_grad=False)
put("lrn_s", weight=net[0].weight, in_spike=x_seq, out_spike=out_s, tau_pre=2.0, tau_post=3.0,
    n_records_before_step=n_records, n_records_after_step=len(lrn.in_spike_monitor.records),
    delta_w=dw_s, trace_pre=lrn.trace_pre, trace_post=lrn.trace_post)
ref = learning.stdp_multi_step(net[0], x_seq, out_s, None, None, 2.0, 3.0)[2]
assert torch.allclose(ref, dw_s, atol=1e-6)

# weight.grad after step(on_grad=True): from None, from zeros, and with scale 0.5 on top of a given grad
for tag, init_grad, scale in [("grad_from_none", None, 1.0), ("grad_from_zero", "zero", 1.0),
                              ("grad_scale05", "given", 0.5)]:
    functional.reset_net(net)
    lrn.reset()
    if init_grad is None:
        net[0].weight.grad = None
    elif init_grad == "zero":
        net[0].weight.grad = torch.zeros_like(net[0].weight)
    else:
        torch.manual_seed(31)
        g0 = torch.randn_like(net[0].weight)
        net[0].weight.grad = g0.clone()
        put("lrn_s", grad_given=g0)
    with torch.no_grad():
        for t in range(T):
            net(x_seq[t])
    ret = lrn.step(on_grad=True, scale=scale)
    assert ret is None
    put("lrn_s", **{tag: net[0].weight.grad})
    net[0].weight.grad = None

# step mode 'm': one forward on [T, N, 6]
net = make_net("m")
lrn = learning.STDPLearner("m", net[0], net[1], tau_pre=2.0, tau_post=3.0)
with torch.no_grad():
    out_m = net(x_seq)
rec_in_shape = tuple(lrn.in_spike_monitor.records[0].shape)
rec_out_shape = tuple(lrn.out_spike_monitor.records[0].shape)
dw_m = lrn.step(on_grad=False)
put("lrn_m", weight=net[0].weight, in_spike=x_seq, out_spike=out_m, tau_pre=2.0, tau_post=3.0,
    record_in_shape=torch.tensor(rec_in_shape, dtype=torch.float32),
    record_out_shape=torch.tensor(rec_out_shape, dtype=torch.float32),
    delta_w=dw_m, trace_pre=lrn.trace_pre, trace_post=lrn.trace_post)
assert torch.allclose(dw_m, dw_s, atol=1e-6) and torch.equal(out_m, out_s)

# conv learner, step mode 's'
torch.manual_seed(4)
cnet = nn.Sequential(layer.Conv2d(1, 2, 3, padding=1, bias=False), neuron.IFNode())
cnet[0].weight.data = cnet[0].weight.data.abs() * 2.0
clrn = learning.STDPLearner("s", cnet[0], cnet[1], tau_pre=2.0, tau_post=3.0)
cx = spikes(2, 2, 1, 4, 4, p=0.6)
with torch.no_grad():
    cy = torch.stack([cnet(cx[t]) for t in range(2)])
cdw = clrn.step(on_grad=False)
put("lrn_c2d", weight=cnet[0].weight, in_spike=cx, out_spike=cy, tau_pre=2.0, tau_post=3.0, delta_w=cdw,
    trace_pre=clrn.trace_pre, trace_post=clrn.trace_post)

# ---------------------------------------------------------------- e. reward-modulated rules
torch.manual_seed(5)
fc = nn.Linear(5, 3, bias=False)
s_in, s_out = spikes(4, 5), spikes(4, 3)
tr_pre0, tr_post0 = torch.rand(4, 5), torch.rand(4, 3)
tp, tq, elig = learning.mstdp_linear_single_step(fc, s_in, s_out, tr_pre0, tr_post0, 2.0, 3.0)
put("mstdp", weight=fc.weight, in_spike=s_in, out_spike=s_out, trace_pre_in=tr_pre0, trace_post_in=tr_post0,
    tau_pre=2.0, tau_post=3.0, trace_pre_out=tp, trace_post_out=tq, eligibility=elig)
assert torch.allclose(tp, tr_pre0 * math.exp(-1 / 2.0) + s_in)

s_in1, s_out1 = spikes(5), spikes(3)
tr_pre1, tr_post1 = torch.rand(5), torch.rand(3)
tp, tq, elig = learning.mstdpet_linear_single_step(fc, s_in1, s_out1, tr_pre1, tr_post1, 2.0, 3.0, 4.0)
tp2, tq2, elig2 = learning.mstdpet_linear_single_step(fc, s_in1, s_out1, tr_pre1, tr_post1, 2.0, 3.0, 1e9)
assert torch.equal(elig, elig2)  # tau_trace is ignored by the functional form
try:
    learning.mstdpet_linear_single_step(fc, s_in, s_out, tr_pre0, tr_post0, 2.0, 3.0, 4.0)
    batched_ok = True
except RuntimeError:
    batched_ok = False
put("mstdpet", weight=fc.weight, in_spike=s_in1, out_spike=s_out1, trace_pre_in=tr_pre1, trace_post_in=tr_post1,
    tau_pre=2.0, tau_post=3.0, tau_trace=4.0, trace_pre_out=tp, trace_post_out=tq, eligibility=elig,
    batched_supported=batched_ok)

# MSTDPLearner: T=4 forward+step(reward), then reset() and one more forward+step
T4, B = 4, 3
torch.manual_seed(6)
rnet = nn.Sequential(layer.Linear(6, 4, bias=False), neuron.IFNode())
rnet[0].weight.data = rnet[0].weight.data.abs() * 2.0
rx = spikes(T4 + 1, B, 6, p=0.6)
rewards = torch.randn(T4 + 1, B)
rl = learning.MSTDPLearner("s", B, rnet[0], rnet[1], tau_pre=2.0, tau_post=3.0)
outs, dws, eligs = [], [], []
with torch.no_grad():
    for t in range(T4 + 1):
        if t == T4:
            functional.reset_net(rnet)
            rl.reset()
        outs.append(rnet(rx[t]))
        dws.append(rl.step(rewards[t], on_grad=False))
        eligs.append(rl.eligibility.clone())
put("mstdp_lrn", weight=rnet[0].weight, in_spike=rx, out_spike=torch.stack(outs), reward=rewards,
    tau_pre=2.0, tau_post=3.0, batch_size=B, reset_before_step=T4,
    delta_w=torch.stack(dws), eligibility=torch.stack(eligs))
assert torch.count_nonzero(dws[0]) == 0 and torch.count_nonzero(dws[T4]) > 0  # stale eligibility after reset

# MSTDPETLearner (unbatched spikes [N_in] / [N_out], scalar reward)
torch.manual_seed(7)
enet = nn.Sequential(layer.Linear(6, 4, bias=False), neuron.IFNode())
enet[0].weight.data = enet[0].weight.data.abs() * 2.0
ex = spikes(T4 + 1, 6, p=0.6)
erew = torch.randn(T4 + 1)
el = learning.MSTDPETLearner("s", enet[0], enet[1], tau_pre=2.0, tau_post=3.0, tau_trace=4.0)
outs, dws, eligs, traces_e = [], [], [], []
with torch.no_grad():
    for t in range(T4 + 1):
        if t == T4:
            functional.reset_net(enet)
            el.reset()
        outs.append(enet(ex[t]))
        dws.append(el.step(erew[t], on_grad=False))
        eligs.append(el.eligibility.clone())
        traces_e.append(el.trace_e.clone())
put("mstdpet_lrn", weight=enet[0].weight, in_spike=ex, out_spike=torch.stack(outs), reward=erew,
    tau_pre=2.0, tau_post=3.0, tau_trace=4.0, reset_before_step=T4,
    delta_w=torch.stack(dws), eligibility=torch.stack(eligs), trace_e=torch.stack(traces_e))
assert torch.count_nonzero(dws[T4]) > 0  # trace_e reset to 0, but eligibility is stale

OUT.mkdir(parents=True, exist_ok=True)
np.savez(OUT / "spikingjelly_stdp.npz", **arrays)
print(f"spikingjelly {spikingjelly.__file__}; torch {torch.__version__}; wrote {len(arrays)} arrays")
for k, v in arrays.items():
    print(f"{k} {list(v.shape)}")
