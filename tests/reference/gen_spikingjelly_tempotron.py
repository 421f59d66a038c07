"""Generates tests/data/spikingjelly_tempotron.npz: Tempotron and Gaussian-tuning outputs from Python SpikingJelly
0.0.0.0.14 (`spikingjelly.timing_based.encoding` / `.neuron`), for the Rust `sj::timing_based` parity tests.

    source ~/.cache/sj/env.sh
    pip install --no-deps --target /work/tmp/sj014 ../shared/bench/whl/spikingjelly-0.0.0.0.14-py3-none-any.whl
    PYTHONPATH=/work/tmp/sj014 python tests/reference/gen_spikingjelly_tempotron.py

(`timing_based` itself needs only torch; the tensorboard stand-in below is kept in case the package __init__ ever
pulls in `monitor.py`.)

Every array is float32 and named `<case>.<field>`; scalars are stored with shape [1]; integer data (labels, argmax
indices) is stored as float32 too. All CPU, fixed seeds, small sizes.
Cases:
  gauss        GaussianTuning(n=2, m=5, x_min=[0,-1], x_max=[1,3]): mu [2,5], sigma2 [2,5]; encode(x [3,2,1],
               max_spike_time=50) -> spikes [3,2,1,5] (rounded times, -1 = no spike). x includes a centre (time 0),
               values outside [x_min, x_max] and far values (-1).
  gauss_k      same encoder, x [2,2,3] (k = 3 samples per feature), pins the [B,n,k] -> [B,n,k,m] layout.
  gauss_half   same encoder, max_spike_time=2.5, x far from every centre: y = 0 -> 2.5*(1-0) = 2.5, torch.round is
               half-to-even -> 2 (< 2.5, so a spike at time 2, not -1). Pins the rounding mode.
  psp          Tempotron(6, 3, T=20) constants: v0, t_max, and on a grid t = -2, -1.75, ..., 21.75 the raw kernel
               psp_kernel(t, 15, 3.75) and v0*psp (peak 1 = v_threshold at t_max = 5 ln 4 ~ 6.93); plus a single
               input spike at 0 with weight 1 through forward: v [20] on the integer grid (peak at t=7, just < 1)
               and the continuous peak v0*K(t_max).
  tp           Tempotron(in=6, out=3, T=20, tau=15, tau_s=3.75, v_threshold=1), given weight [3,6], in_spikes [4,6]
               (times; -1 / -3 = no spike, a fractional time 2.5, a time 25 >= T that never reaches the window,
               one row with no spikes at all): v [4,3,20], v_max [4,3], argmax [4,3], spikes [4,3] ('spikes' ret_type,
               hard value), labels [4], loss = mse_loss(v_max, 1, labels, 3) [1], grad_weight = d loss/d weight
               [3,6], grad_in_spikes = d loss/d in_spikes [4,6]; coef [4,3] and grad_weight_spikes =
               d sum(coef * spikes)/d weight [3,6] (the softmax straight-through path).
  tp_vth       same weight/inputs with v_threshold=2 (v0 doubles: the PSP peak follows v_threshold): v_max, spikes,
               loss, grad_weight with labels of tp.
  pipe         MNIST-style pipeline: GaussianTuning(1, 6, [0], [1]).encode(x [4,1,1], max_spike_time=T=20) viewed as
               [4, 6] -> Tempotron(6, 3, 20) 'v_max' -> mse_loss with labels -> grad_weight.
  squeeze      the .squeeze() defect: batch 1 gives v_max_b1 of shape [3] (not [1,3]); out_features=1 gives
               v_max_o1 of shape [4] and spikes_o1 of shape [4,4] (argmax [4,1] * mask [4] broadcasts).
"""
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

try:
    import torch.utils.tensorboard  # noqa: F401
except Exception:  # tensorboard not installed: monitor.py only needs the name SummaryWriter
    stub = types.ModuleType("torch.utils.tensorboard")
    stub.SummaryWriter = None
    sys.modules["torch.utils.tensorboard"] = stub

import spikingjelly
from spikingjelly.timing_based import encoding, neuron

OUT = Path(__file__).resolve().parent.parent / "data"
arrays = {}


def put(case, **kw):
    for k, v in kw.items():
        if isinstance(v, (int, float, bool)):
            v = np.array([float(v)], dtype=np.float32)
        elif isinstance(v, torch.Tensor):
            v = v.detach().cpu().reshape(-1 if v.dim() == 0 else v.shape).numpy()  # 0-d (loss) -> [1]
        arrays[f"{case}.{k}"] = np.asarray(v, dtype=np.float32)


torch.manual_seed(0)
TAU, TAU_S, T = 15.0, 15.0 / 4, 20

# ---------------------------------------------------------------- GaussianTuning
x_min = torch.tensor([0.0, -1.0])
x_max = torch.tensor([1.0, 3.0])
enc = encoding.GaussianTuning(n=2, m=5, x_min=x_min, x_max=x_max)
gx = torch.tensor([[0.0, -1.0], [0.5, 1.0], [1.2, 3.5]]).unsqueeze(-1)  # [3, 2, 1]: feature 0 in col 0
gs = enc.encode(gx, max_spike_time=50)
assert gs.shape == (3, 2, 1, 5)
assert gs[1, 0, 0, 2] == 0 and gs[1, 1, 0, 2] == 0  # x at a centre -> time 0
assert (gs == -1).any()
put("gauss", n=2, m=5, x_min=x_min, x_max=x_max, mu=enc.mu, sigma2=enc.sigma2, x=gx, max_spike_time=50.0, spikes=gs)

gxk = torch.tensor([[[0.1, 0.9, -0.4], [2.0, 0.0, -1.5]],
                    [[0.33, 0.66, 1.0], [-1.0, 3.0, 1.7]]])  # [2, 2, 3]
gsk = enc.encode(gxk, max_spike_time=50)
assert gsk.shape == (2, 2, 3, 5)
for k in range(3):  # each sample k is encoded independently: same as encoding x[:, :, k:k+1]
    assert torch.equal(gsk[:, :, k:k + 1], enc.encode(gxk[:, :, k:k + 1], max_spike_time=50))
put("gauss_k", x=gxk, max_spike_time=50.0, spikes=gsk)

gxh = torch.tensor([[100.0, -100.0]]).unsqueeze(-1)  # y underflows to 0 for every field
gsh = enc.encode(gxh, max_spike_time=2.5)
assert torch.all(gsh == 2.0), gsh  # round(2.5) = 2 (half to even), 2 < 2.5 -> kept
put("gauss_half", x=gxh, max_spike_time=2.5, spikes=gsh)

# ---------------------------------------------------------------- PSP kernel and v0
tp = neuron.Tempotron(6, 3, T, tau=TAU, tau_s=TAU_S, v_threshold=1.0)
t_max = TAU * TAU_S * math.log(TAU / TAU_S) / (TAU - TAU_S)
assert abs(t_max - 5 * math.log(4)) < 1e-12
assert abs(tp.v0 - 1.0 / (math.exp(-t_max / TAU) - math.exp(-t_max / TAU_S))) < 1e-12
tgrid = torch.arange(-8, 88).float() / 4  # -2 .. 21.75
k_raw = neuron.Tempotron.psp_kernel(tgrid, TAU, TAU_S)
peak = tp.v0 * neuron.Tempotron.psp_kernel(torch.tensor([t_max], dtype=torch.float64), TAU, TAU_S)
assert abs(peak.item() - 1.0) < 1e-12
one = neuron.Tempotron(1, 1, T, tau=TAU, tau_s=TAU_S, v_threshold=1.0)
one.fc.weight.data.fill_(1.0)
v_one = one(torch.tensor([[0.0]]), "v").reshape(T)
assert v_one.argmax() == 7 and 0.999 < v_one.max() < 1.0
put("psp", tau=TAU, tau_s=TAU_S, v_threshold=1.0, T=T, v0=tp.v0, t_max=t_max, t=tgrid, kernel=k_raw,
    kernel_v0=tp.v0 * k_raw, peak=peak.item(), v_one=v_one)

# ---------------------------------------------------------------- Tempotron forward / loss / gradients
W = torch.tensor([[0.9, 0.6, -0.3, 0.4, 0.2, 0.5],
                  [-0.4, 0.3, 0.7, -0.2, 0.6, 0.1],
                  [-0.5, -0.2, -0.3, -0.1, -0.6, -0.4]])  # neuron 2 all negative: v <= 0 everywhere
in_spikes = torch.tensor([[0.0, 1.0, 3.0, 5.0, -1.0, 8.0],
                          [2.5, -1.0, 0.0, 12.0, 4.0, -3.0],
                          [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0],  # no input spike at all
                          [10.0, 25.0, 6.0, 0.0, 14.0, 19.0]])  # 25 >= T: no effect in [0, T)
labels = torch.tensor([0, 1, 2, 1])
coef = torch.randn(4, 3)


def run(vth):
    net = neuron.Tempotron(6, 3, T, tau=TAU, tau_s=TAU_S, v_threshold=vth)
    net.fc.weight.data.copy_(W)
    x = in_spikes.clone().requires_grad_(True)
    v = net(x, "v")
    v_max = net(x, "v_max")
    assert torch.allclose(v_max, v.max(dim=2).values)
    loss = neuron.Tempotron.mse_loss(v_max, net.v_threshold, labels, 3)
    gw, gx = torch.autograd.grad(loss, [net.fc.weight, x])
    s = net(x, "spikes")
    (gws,) = torch.autograd.grad((coef * s).sum(), [net.fc.weight])
    return dict(v=v, v_max=v_max, argmax=v.argmax(dim=2), spikes=s, loss=loss, grad_weight=gw, grad_in_spikes=gx,
                grad_weight_spikes=gws, v0=net.v0)


r = run(1.0)
fires = r["v_max"] >= 1.0
assert fires.any() and (~fires).any()
assert torch.all(r["v"][2] == 0)  # no input spike -> v = 0
# hard value: argmax time if v_max >= v_threshold, else -argmax (value of soft + (hard - soft).detach())
assert torch.equal(r["spikes"].detach(), torch.where(fires, 1.0, -1.0) * r["argmax"])
# v(0) = 0 always (K(0) = 0), so a neuron with v <= 0 everywhere has argmax 0 and reports time 0 although it never
# fires (neuron 2 has all-negative weights; row 2 has no input spike at all)
assert torch.all(r["spikes"][:, 2] == 0) and torch.all(r["spikes"][2] == 0) and torch.all(r["v_max"] >= 0)
put("tp", in_features=6, out_features=3, T=T, tau=TAU, tau_s=TAU_S, v_threshold=1.0, weight=W, in_spikes=in_spikes,
    labels=labels, coef=coef, **r)

r2 = run(2.0)
assert abs(r2["v0"] - 2 * r["v0"]) < 1e-12
put("tp_vth", v_threshold=2.0, v0=r2["v0"], v_max=r2["v_max"], spikes=r2["spikes"], loss=r2["loss"],
    grad_weight=r2["grad_weight"])

# ---------------------------------------------------------------- MNIST-style pipeline
penc = encoding.GaussianTuning(n=1, m=6, x_min=torch.zeros(1), x_max=torch.ones(1))
px = torch.tensor([0.0, 0.3, 0.77, 1.0]).view(4, 1, 1)
pspk = penc.encode(px, T).view(4, -1)
pnet = neuron.Tempotron(6, 3, T)
torch.manual_seed(1)
pw = torch.rand(3, 6) * 1.2 - 0.2
pnet.fc.weight.data.copy_(pw)
plab = torch.tensor([2, 0, 1, 1])
pvm = pnet(pspk, "v_max")
ploss = neuron.Tempotron.mse_loss(pvm, pnet.v_threshold, plab, 3)
(pgw,) = torch.autograd.grad(ploss, [pnet.fc.weight])
put("pipe", x=px, mu=penc.mu, sigma2=penc.sigma2, in_spikes=pspk, weight=pw, labels=plab, v_max=pvm, loss=ploss,
    grad_weight=pgw)

# ---------------------------------------------------------------- squeeze defects
net = neuron.Tempotron(6, 3, T)
net.fc.weight.data.copy_(W)
vm_b1 = net(in_spikes[:1], "v_max")
assert vm_b1.shape == (3,)
net1 = neuron.Tempotron(6, 1, T)
net1.fc.weight.data.copy_(W[:1])
vm_o1 = net1(in_spikes, "v_max")
sp_o1 = net1(in_spikes, "spikes")
assert vm_o1.shape == (4,) and sp_o1.shape == (4, 4)
put("squeeze", v_max_b1=vm_b1, v_max_o1=vm_o1, spikes_o1=sp_o1)

OUT.mkdir(parents=True, exist_ok=True)
np.savez(OUT / "spikingjelly_tempotron.npz", **arrays)
print(f"spikingjelly {spikingjelly.__file__}; torch {torch.__version__}; wrote {len(arrays)} arrays")
for k, v in arrays.items():
    print(f"{k} {list(v.shape)}")
