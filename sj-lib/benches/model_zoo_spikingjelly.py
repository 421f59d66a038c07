"""The model zoo with Python SpikingJelly 2.0.0 on the workloads of sj's `model_zoo_timing` example
(run both through `bash sj-lib/benches/compare_model_zoo.sh`): forward + backward of
spiking_resnet18 and sew_resnet18 (cnf ADD) with IFNode(surrogate ATan, detach_reset) in step mode
'm', T=4, batch 8, 3x64x64 random input, cross-entropy on the mean output over time, reset_net after
each step. Prints one JSON line per case: {"case", "ms", "samples_per_s"}, the median of --iters
steps after one warm-up step."""
import importlib.machinery
import json
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F


def stub_missing(name, **attrs):
    try:
        __import__(name)
    except ImportError:
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        m.__dict__.update(attrs)
        sys.modules[name] = m


# SpikingJelly 2.0's model zoo imports these at import time; none is used here.
for name in ["torchvision", "torchvision.models", "h5py"]:
    stub_missing(name)
stub_missing("torchvision.models.utils", load_state_dict_from_url=None)
stub_missing("tqdm", tqdm=lambda it, *args, **kwargs: it)

from spikingjelly.activation_based import functional, neuron, surrogate  # noqa: E402
from spikingjelly.activation_based.model import sew_resnet, spiking_resnet  # noqa: E402

iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 5
T, N = 4, 8
torch.manual_seed(0)
x = torch.rand(T, N, 3, 64, 64)
labels = torch.randint(0, 1000, (N,))
kwargs = dict(spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan(), detach_reset=True)
for case, build in [
    ("spiking_resnet18_fwd_bwd_T4_b8_64px", lambda: spiking_resnet.spiking_resnet18(**kwargs)),
    ("sew_resnet18_fwd_bwd_T4_b8_64px", lambda: sew_resnet.sew_resnet18(cnf="ADD", **kwargs)),
]:
    net = build()
    functional.set_step_mode(net, "m")
    times = []
    for i in range(iters + 1):
        t0 = time.perf_counter()
        y = net(x).mean(0)
        F.cross_entropy(y, labels).backward()
        functional.reset_net(net)
        net.zero_grad(set_to_none=True)
        if i > 0:
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    print(json.dumps({"case": case, "ms": ms, "samples_per_s": N / (ms / 1e3)}), flush=True)
