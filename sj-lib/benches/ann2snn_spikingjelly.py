"""ann2snn with Python SpikingJelly 2.0.0 on the workloads of sj's `ann2snn_timing` example (run
both through `bash sj-lib/benches/compare_ann2snn.sh`): the tutorial's mnist_cnn (random weights,
BatchNorm running statistics from 5 training batches) converted by Converter(RateCodingRecipe(...))
over 600 calibration batches of 100 (modes max and 99.9%), and the converted SNN run for T=50 steps
on a batch of 100. Prints one JSON line per case: {"case", "ms"}, the median of --iters runs. The
calibration batches are ready-made float tensors in a list (no DataLoader work is timed)."""
import copy
import importlib.machinery
import json
import statistics
import sys
import time
import types

import torch
import torch.nn as nn

try:
    import tqdm  # noqa: F401
except ImportError:  # SpikingJelly 2.0 imports tqdm for its progress bars
    stub = types.ModuleType("tqdm")
    stub.tqdm = lambda it, *args, **kwargs: it
    stub.__spec__ = importlib.machinery.ModuleSpec("tqdm", None)
    sys.modules["tqdm"] = stub
from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.ann2snn import Converter, RateCodingRecipe  # noqa: E402


class CNN(nn.Module):
    """The tutorial's mnist_cnn (BatchNorm eps 1e-3, a final ReLU), as sj's sample_models::mnist_cnn;
    SpikingJelly 2.0's sample_models.mnist_cnn.CNN drops the final ReLU."""

    def __init__(self):
        super().__init__()
        blocks = []
        for c_in in (1, 32, 32):
            blocks += [nn.Conv2d(c_in, 32, 3, 1), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(), nn.AvgPool2d(2, 2)]
        self.network = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(32, 10), nn.ReLU())

    def forward(self, x):
        return self.network(x)


iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 3
torch.manual_seed(0)
batches = [(torch.randint(0, 256, (100, 1, 28, 28), dtype=torch.uint8).float() / 255.0, torch.zeros(100)) for _ in range(600)]
ann = CNN()
ann.train()
with torch.no_grad():
    for x, _ in batches[:5]:
        ann(x)
ann.eval()
snn = None
for case, mode in [("convert_max_600x100", "max"), ("convert_99.9%_600x100", "99.9%")]:
    times = []
    for _ in range(iters):
        net = copy.deepcopy(ann)
        start = time.perf_counter()
        snn = Converter(RateCodingRecipe(dataloader=batches, mode=mode)).convert(net)
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"case": case, "ms": statistics.median(times)}), flush=True)
x = batches[0][0]
times = []
with torch.no_grad():
    for _ in range(max(iters, 5)):
        start = time.perf_counter()
        functional.reset_net(snn)
        out = snn(x)
        for _ in range(49):
            out += snn(x)
        times.append((time.perf_counter() - start) * 1e3)
print(json.dumps({"case": "snn_T50_batch100", "ms": statistics.median(times)}), flush=True)
