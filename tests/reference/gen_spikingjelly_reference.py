"""Generates tests/data/spikingjelly_reference.{json,npz}: neuron outputs and gradients from Python
SpikingJelly 0.0.0.0.14 on random configurations, compared by tests/tests/spikingjelly_parity.rs.

    source ~/.cache/sj/env.sh
    pip install --no-deps ../shared/bench/whl/spikingjelly-0.0.0.0.14-py3-none-any.whl
    python tests/reference/gen_spikingjelly_reference.py

Each case: a neuron in step mode 'm' (torch backend, training mode) on x_seq [T, N, F] (float32);
recorded: spikes (or LIAF's analog output), v_seq, final v (and w for Izhikevich), and the gradients of
loss = sum(out * g_out) + sum(v_seq * g_v) with respect to x_seq and the learnable parameters.
"""
import json
import math
import random
from pathlib import Path

import numpy as np
import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate

OUT = Path(__file__).resolve().parent.parent / "data"
rng = random.Random(2024)

SURROGATES = [
    ("Sigmoid", {"alpha": 4.0}), ("ATan", {"alpha": 2.0}), ("PiecewiseQuadratic", {"alpha": 1.0}),
    ("PiecewiseExp", {"alpha": 1.0}), ("SoftSign", {"alpha": 2.0}),
    # NonzeroSignLogAbs is left out: its backward in 0.0.0.0.14 raises (it passes a tuple as grad_output).
    ("Erf", {"alpha": 2.0}), ("PiecewiseLeakyReLU", {"w": 1.0, "c": 0.01}),
    ("SquarewaveFourierSeries", {"n": 2, "T_period": 8}), ("S2NN", {"alpha": 4.0, "beta": 1.0}),
    ("QPseudoSpike", {"alpha": 2.0}), ("LeakyKReLU", {"leak": 0.1, "k": 1.0}),
    ("FakeNumericalGradient", {"alpha": 0.3}), ("LogTailedReLU", {"alpha": 0.1}),
]
NEURONS = ["IFNode", "LIFNode", "ParametricLIFNode", "QIFNode", "EIFNode", "IzhikevichNode", "KLIFNode", "LIAFNode"]


def make(kind, p):
    sg_name, sg_args = p["surrogate"]
    sg = getattr(surrogate, sg_name)(**sg_args)
    common = dict(v_threshold=p["v_threshold"], v_reset=p["v_reset"], surrogate_function=sg,
                  detach_reset=p["detach_reset"], step_mode="m", store_v_seq=True)
    if kind == "IFNode":
        return neuron.IFNode(**common)
    if kind == "LIFNode":
        return neuron.LIFNode(tau=p["tau"], decay_input=p["decay_input"], **common)
    if kind == "ParametricLIFNode":
        return neuron.ParametricLIFNode(init_tau=p["tau"], decay_input=p["decay_input"], **common)
    if kind == "QIFNode":
        return neuron.QIFNode(tau=p["tau"], v_c=p["v_c"], a0=p["a0"], v_rest=p["v_rest"], **common)
    if kind == "EIFNode":
        return neuron.EIFNode(tau=p["tau"], delta_T=p["delta_T"], theta_rh=p["theta_rh"], v_rest=p["v_rest"], **common)
    if kind == "IzhikevichNode":
        return neuron.IzhikevichNode(tau=p["tau"], v_c=p["v_c"], a0=p["a0"], v_rest=p["v_rest"], w_rest=p["w_rest"],
                                     tau_w=p["tau_w"], a=p["a"], b=p["b"], **common)
    if kind == "KLIFNode":
        return neuron.KLIFNode(scale_reset=p["scale_reset"], tau=p["tau"], decay_input=p["decay_input"], **common)
    if kind == "LIAFNode":
        # 0.0.0.0.14's LIAFNode.__init__ asserts on an attribute that LIFNode never sets; give it the default.
        neuron.LIFNode.single_step_cupy_fp32_inference = False
        return neuron.LIAFNode(act=torch.nn.ReLU(), threshold_related=p["threshold_related"], tau=p["tau"],
                               decay_input=p["decay_input"], **common)
    raise ValueError(kind)


def params(kind):
    # QIF/EIF default to v_reset=-0.1 and need v_rest >= v_reset; 0.0.0.0.14's KLIF crashes on v_reset=None.
    v_resets = {"QIFNode": [-0.1, -0.2, None], "EIFNode": [-0.1, -0.2, None], "KLIFNode": [0.0, -0.2]}
    return {
        "surrogate": rng.choice(SURROGATES),
        "v_threshold": round(rng.uniform(0.5, 1.5), 3),
        "v_reset": rng.choice(v_resets.get(kind, [0.0, None, -0.2])),
        "detach_reset": rng.random() < 0.5,
        "tau": round(rng.uniform(1.5, 4.0), 3),
        "decay_input": rng.random() < 0.5,
        "v_c": 0.8, "a0": round(rng.uniform(0.5, 1.5), 3), "v_rest": rng.choice([0.0, -0.1]),
        "delta_T": round(rng.uniform(0.5, 1.5), 3), "theta_rh": 0.8,
        "w_rest": 0.0, "tau_w": round(rng.uniform(1.5, 3.0), 3), "a": round(rng.uniform(0, 0.5), 3),
        "b": round(rng.uniform(0, 0.5), 3), "scale_reset": rng.random() < 0.5,
        "threshold_related": rng.random() < 0.5,
        "T": rng.choice([1, 2, 7, 16]), "N": rng.choice([1, 3]), "F": rng.choice([5, 8]),
    }


def main():
    torch.manual_seed(0)
    cases, arrays = [], {}
    for i in range(64):
        kind = NEURONS[i % len(NEURONS)]
        p = params(kind)
        n = make(kind, p)
        x = (torch.rand(p["T"], p["N"], p["F"]) * 2.0 - 0.4).requires_grad_(True)
        if kind == "LIAFNode":
            # 0.0.0.0.14's LIAFNode.single_step_forward skips v_float_to_tensor; do it for it.
            n.v = torch.full_like(x[0], n.v)
        out = n(x)
        v_seq = n.v_seq
        g_out, g_v = torch.rand_like(out), torch.rand_like(v_seq)
        ((out * g_out).sum() + (v_seq * g_v).sum()).backward()
        key = f"c{i}"
        arrays.update({f"{key}.x": x.detach(), f"{key}.out": out.detach(), f"{key}.v_seq": v_seq.detach(),
                       f"{key}.v": n.v.detach(), f"{key}.g_out": g_out, f"{key}.g_v": g_v, f"{key}.x_grad": x.grad})
        if kind == "IzhikevichNode":
            arrays[f"{key}.w"] = n.w.detach()
        for name, prm in n.named_parameters():
            arrays[f"{key}.param_grad.{name}"] = prm.grad.detach().reshape(1)
        cases.append({"key": key, "neuron": kind, **p})
    OUT.mkdir(exist_ok=True)
    np.savez(OUT / "spikingjelly_reference.npz", **{k: v.numpy().astype(np.float32) for k, v in arrays.items()})
    (OUT / "spikingjelly_reference.json").write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{len(cases)} cases from spikingjelly 0.0.0.0.14, torch {torch.__version__}")


def network():
    """A conv SNN's state_dict (tests/data/spikingjelly_net_state.npz, loaded by name in Rust) and its
    eval-mode input and output (tests/data/spikingjelly_net_io.npz)."""
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1, bias=False), layer.BatchNorm2d(4),
        neuron.ParametricLIFNode(init_tau=2.0, surrogate_function=surrogate.ATan()), layer.MaxPool2d(2),
        layer.Flatten(), layer.Linear(4 * 4 * 4, 5), neuron.LIFNode(tau=2.0))
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        net[2].w.fill_(0.3)
        net[5].weight.mul_(20.0)  # so that the output layer fires
        for _ in range(2):  # move the BN running statistics away from their initial values
            net(torch.rand(4, 2, 1, 8, 8) * 4.0)
            functional.reset_net(net)
    net.eval()
    x = torch.rand(4, 2, 1, 8, 8) * 4.0
    with torch.no_grad():
        y = net(x)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    np.savez(OUT / "spikingjelly_net_state.npz", **state)
    print("output firing rate:", y.mean().item())
    np.savez(OUT / "spikingjelly_net_io.npz", x=x.numpy(), y=y.numpy(), v_last=net[6].v.numpy(), v_plif=net[2].v.numpy())
    print("network keys:", list(state))


if __name__ == "__main__":
    main()
    network()
