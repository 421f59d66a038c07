"""STDPLearner.step with Python SpikingJelly 2.0.0 on the workloads of sj's `stdp_timing` example
(run both through `bash sj-lib/benches/compare_stdp.sh`). Prints one JSON line per case:
{"case", "step_mode", "ms"} with ms the median time of one `learner.step(on_grad=False)` over the
records of one batch (the forward passes that make the records are not timed)."""
import json
import statistics
import sys
import time

import types

import torch

# SpikingJelly's monitor module imports torch.utils.tensorboard (for GPUMonitor only); tensorboard
# is not installed in the venv, so a stand-in module lets `learning` import.
sys.modules.setdefault("torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=None))
from spikingjelly.activation_based import functional, layer, learning, neuron  # noqa: E402

torch.manual_seed(0)
iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 10
CASES = [
    # name, step mode, synapse, input shape per step, T
    ("conv2d_16x16_3x3", "s", lambda: layer.Conv2d(16, 16, 3, padding=1, bias=False), (32, 16, 32, 32), 8),
    ("linear_784x400", "m", lambda: layer.Linear(784, 400, bias=False), (64, 784), 100),
]
for name, mode, make, shape, t_steps in CASES:
    net = torch.nn.Sequential(make(), neuron.IFNode())
    functional.set_step_mode(net, mode)
    learner = learning.STDPLearner(step_mode=mode, synapse=net[0], sn=net[1], tau_pre=2.0, tau_post=2.0,
                                   f_pre=lambda w: torch.clamp(w, -1, 1), f_post=lambda w: torch.clamp(w, -1, 1))
    x = (torch.rand((t_steps,) + shape) > 0.8).float()
    times = []
    with torch.no_grad():
        for _ in range(iters):
            learner.reset()
            functional.reset_net(net)
            if mode == "s":
                for t in range(t_steps):
                    net(x[t])
            else:
                net(x)
            start = time.perf_counter()
            learner.step(on_grad=False)
            times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"case": name, "step_mode": mode, "ms": statistics.median(times)}), flush=True)
