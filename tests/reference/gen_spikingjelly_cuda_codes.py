"""Writes tests/data/spikingjelly_cuda_codes.json: SpikingJelly 0.0.0.0.14's `cuda_codes(y, x, dtype)`
for every surrogate that has one, a few shape parameters each, both dtypes (checklist 287).
Run with the sj venv (it has spikingjelly 0.0.0.0.14): python tests/reference/gen_spikingjelly_cuda_codes.py"""
import json
import os

from spikingjelly.activation_based import surrogate as s

CASES = [
    ("Sigmoid", {"alpha": 4.0}, lambda p: s.Sigmoid(**p)),
    ("Sigmoid", {"alpha": 5.0}, lambda p: s.Sigmoid(**p)),
    ("ATan", {"alpha": 2.0}, lambda p: s.ATan(**p)),
    ("ATan", {"alpha": 0.5}, lambda p: s.ATan(**p)),
    ("PiecewiseLeakyReLU", {"w": 1.0, "c": 0.01}, lambda p: s.PiecewiseLeakyReLU(**p)),
    ("PiecewiseLeakyReLU", {"w": 0.5, "c": 1e-05}, lambda p: s.PiecewiseLeakyReLU(**p)),
    ("S2NN", {"alpha": 4.0, "beta": 1.0}, lambda p: s.S2NN(**p)),
    ("QPseudoSpike", {"alpha": 2.0}, lambda p: s.QPseudoSpike(**p)),
    ("LeakyKReLU", {"leak": 0.1, "k": 1.0}, lambda p: s.LeakyKReLU(**p)),
    ("FakeNumericalGradient", {"alpha": 0.3}, lambda p: s.FakeNumericalGradient(**p)),
    ("LogTailedReLU", {"alpha": 0.1}, lambda p: s.LogTailedReLU(**p)),
]

out = []
for name, params, make in CASES:
    for dtype in ("float", "half2"):
        for y, x in (("grad_s", "over_th"), ("grad_s_to_h", "h_minus_vth")):
            out.append({"surrogate": name, "params": params, "dtype": dtype, "y": y, "x": x,
                        "code": make(params).cuda_codes(y=y, x=x, dtype=dtype)})
path = os.path.join(os.path.dirname(__file__), "..", "data", "spikingjelly_cuda_codes.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(f"{len(out)} snippets -> {os.path.normpath(path)}")
