"""Reference files for sj's model zoo tests (issue 12, checklist 157-163, 310).

Builds SpikingJelly 2.0's model zoo networks and records
  * the `state_dict` keys with their shapes and the parameter count of each network, and
  * the outputs of four networks (eval mode, step mode 'm', T = 2) whose every parameter and
    buffer is set by a formula over its `state_dict` position (`formula` below; sj's test computes
    the same tensors by name). A spiking ResNet's weights are tens of megabytes; the formula keeps
    the fixture small while still exercising every name and shape.

    PYTHONPATH=$SJ_CACHE/bench-sj20 $VIRTUAL_ENV/bin/python tests/reference/gen_spikingjelly_model_zoo.py

SpikingJelly 2.0 imports torchvision (for pretrained-weight URLs), h5py and tqdm at import time;
none is needed to build the networks, so absent ones are replaced by empty modules.

Writes tests/data/spikingjelly_model_zoo.json:
  {"keys": {model: [[key, [shape...]], ...]}, "params": {model: count}}
and tests/data/spikingjelly_model_zoo.npz:
  x_rgb   float32 [2, 2, 3, 32, 32]   input of the ResNets (T, N, C, H, W)
  x_gray  float32 [4, 2, 1, 28, 28]   input of MNISTNet(channels=8)
  out_<model> float32 [T, 2, 10]      outputs for spiking_resnet18, sew_resnet18_add,
                                       sew_resnet50_iand, plif_mnistnet8
"""
import importlib.machinery
import json
import math
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def stub_missing(name, **attrs):
    try:
        __import__(name)
    except ImportError:
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        m.__dict__.update(attrs)
        sys.modules[name] = m


for name in ["torchvision", "torchvision.models", "h5py"]:
    stub_missing(name)
stub_missing("torchvision.models.utils", load_state_dict_from_url=None)
stub_missing("tqdm", tqdm=lambda it, *args, **kwargs: it)

from spikingjelly.activation_based import functional, neuron, surrogate  # noqa: E402
from spikingjelly.activation_based.model import (  # noqa: E402
    parametric_lif_net,
    sew_resnet,
    spiking_resnet,
    spiking_vgg,
)

PHI = 0.6180339887498949


def formula(index, key, shape):
    """The value of the `index`-th state_dict entry: a quasi-random pattern in [-0.5, 0.5) scaled
    by the entry's role, computed in float64 and rounded to float32."""
    n = math.prod(shape)
    base = torch.frac(torch.arange(n, dtype=torch.float64) * PHI + index * 0.1234567) - 0.5
    last = key.rsplit(".", 1)[-1]
    if last == "running_var":
        v = 0.3 + 0.4 * base
    elif last == "running_mean":
        v = 0.2 * base
    elif len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        v = base * (2.0 * math.sqrt(6.0 / fan_in))
    elif last == "weight":
        v = 1.0 + 0.5 * base
    elif last == "bias":
        v = 0.5 + 0.8 * base
    else:  # PLIF's w
        v = 0.2 * base
    return v.to(torch.float32).reshape(shape)


def set_formula(net):
    sd = net.state_dict()
    new = {}
    for i, (k, t) in enumerate(sd.items()):
        if k.endswith("num_batches_tracked"):
            new[k] = t
        else:
            new[k] = formula(i, k, list(t.shape))
    net.load_state_dict(new)


def if_kwargs():
    return dict(spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan(), detach_reset=True)


def plif_kwargs():
    return dict(spiking_neuron=neuron.ParametricLIFNode, surrogate_function=surrogate.ATan(), detach_reset=True)


KEYED = {
    "spiking_resnet18": lambda: spiking_resnet.spiking_resnet18(**if_kwargs()),
    "spiking_resnet34": lambda: spiking_resnet.spiking_resnet34(**if_kwargs()),
    "spiking_resnet50": lambda: spiking_resnet.spiking_resnet50(**if_kwargs()),
    "spiking_resnext50_32x4d": lambda: spiking_resnet.spiking_resnext50_32x4d(**if_kwargs()),
    "spiking_wide_resnet50_2": lambda: spiking_resnet.spiking_wide_resnet50_2(**if_kwargs()),
    "spiking_resnet18_plif": lambda: spiking_resnet.spiking_resnet18(**plif_kwargs()),
    "sew_resnet18": lambda: sew_resnet.sew_resnet18(cnf="ADD", **if_kwargs()),
    "sew_resnet50": lambda: sew_resnet.sew_resnet50(cnf="ADD", **if_kwargs()),
    "spiking_vgg11": lambda: spiking_vgg.spiking_vgg11(**if_kwargs()),
    "spiking_vgg11_bn": lambda: spiking_vgg.spiking_vgg11_bn(**if_kwargs()),
    "spiking_vgg16_bn": lambda: spiking_vgg.spiking_vgg16_bn(**if_kwargs()),
    "MNISTNet": lambda: parametric_lif_net.MNISTNet(**plif_kwargs()),
    "FashionMNISTNet": lambda: parametric_lif_net.FashionMNISTNet(**plif_kwargs()),
    "NMNISTNet": lambda: parametric_lif_net.NMNISTNet(**plif_kwargs()),
    "CIFAR10Net": lambda: parametric_lif_net.CIFAR10Net(**plif_kwargs()),
    "CIFAR10DVSNet": lambda: parametric_lif_net.CIFAR10DVSNet(**plif_kwargs()),
    "DVSGestureNet": lambda: parametric_lif_net.DVSGestureNet(**plif_kwargs()),
}

COUNTED = {
    "spiking_resnet101": lambda: spiking_resnet.spiking_resnet101(**if_kwargs()),
    "spiking_resnet152": lambda: spiking_resnet.spiking_resnet152(**if_kwargs()),
    "spiking_resnext101_32x8d": lambda: spiking_resnet.spiking_resnext101_32x8d(**if_kwargs()),
    "spiking_wide_resnet101_2": lambda: spiking_resnet.spiking_wide_resnet101_2(**if_kwargs()),
    "spiking_vgg13": lambda: spiking_vgg.spiking_vgg13(**if_kwargs()),
    "spiking_vgg19_bn": lambda: spiking_vgg.spiking_vgg19_bn(**if_kwargs()),
}


def main():
    keys, params = {}, {}
    for name, build in {**KEYED, **COUNTED}.items():
        net = build()
        params[name] = sum(p.numel() for p in net.parameters())
        if name in KEYED:
            keys[name] = [[k, list(t.shape)] for k, t in net.state_dict().items()]
        print(name, params[name], flush=True)
    with open(os.path.join(DATA, "spikingjelly_model_zoo.json"), "w") as f:
        json.dump({"keys": keys, "params": params}, f, indent=0)

    x_rgb = (torch.frac(torch.arange(2 * 2 * 3 * 32 * 32, dtype=torch.float64) * 0.7548776662466927) * 4.0 - 2.0)
    x_rgb = x_rgb.to(torch.float32).reshape(2, 2, 3, 32, 32)
    x_gray = torch.frac(torch.arange(4 * 2 * 28 * 28, dtype=torch.float64) * 0.5698402909980532)
    x_gray = x_gray.to(torch.float32).reshape(4, 2, 1, 28, 28)
    arrays = {"x_rgb": x_rgb.numpy(), "x_gray": x_gray.numpy()}
    runs = {
        "spiking_resnet18": (lambda: spiking_resnet.spiking_resnet18(num_classes=10, **if_kwargs()), x_rgb),
        "sew_resnet18_add": (lambda: sew_resnet.sew_resnet18(num_classes=10, cnf="ADD", **if_kwargs()), x_rgb),
        "sew_resnet50_iand": (lambda: sew_resnet.sew_resnet50(num_classes=10, cnf="IAND", **if_kwargs()), x_rgb),
        "plif_mnistnet8": (lambda: parametric_lif_net.MNISTNet(channels=8, **plif_kwargs()), x_gray),
    }
    with torch.no_grad():
        for name, (build, x) in runs.items():
            net = build()
            set_formula(net)
            net.eval()
            functional.set_step_mode(net, "m")
            functional.reset_net(net)
            y = net(x)
            arrays["out_" + name] = y.numpy()
            print(name, tuple(y.shape), float(y.abs().mean()), flush=True)
    np.savez_compressed(os.path.join(DATA, "spikingjelly_model_zoo.npz"), **arrays)


if __name__ == "__main__":
    main()
