"""Joins the JSON lines of a SpikingJelly run and an sj run on KEYS and prints both values and
the speed-up. usage: ratios.py PY_JSONL RS_JSONL KEY[,KEY...] VALUE
VALUE `ms` (lower is better: ratio = SpikingJelly / sj) or `samples_per_s` (ratio = sj / SpikingJelly)."""
import json
import sys


def rows(path):
    return [json.loads(line) for line in open(path) if line.startswith("{")]


py_path, rs_path, keys, value = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
key = lambda r: tuple(r.get(k) for k in keys)
py = {key(r): r[value] for r in rows(py_path)}
higher_is_better = value != "ms"
print("".join(f"{k:>12}" for k in keys) + f"{'SpikingJelly':>16}{'sj':>12}{'speed-up':>10}   ({value})")
for r in rows(rs_path):
    k = key(r)
    if k in py:
        a, b = py[k], r[value]
        speedup = b / a if higher_is_better else a / b
        print("".join(f"{str(v):>12}" for v in k) + f"{a:>16.2f}{b:>12.2f}{speedup:>9.1f}x")
