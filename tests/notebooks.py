"""Notebook runner and regression harness for sj's Rust (evcxr) notebooks.

Run one notebook headless and save the executed copy (the README's main job):
    python tests/notebooks.py run notebooks/00_quickstart.ipynb [--out DIR]
Refresh the stored outputs of notebooks deliberately, after reviewing the change:
    python tests/notebooks.py update [notebooks/NN_name.ipynb ...]
Regression test (pytest collects test_notebook for every notebook under notebooks/):
    python -m pytest tests/notebooks.py

A fresh execution is compared with the outputs stored in the notebook: text outputs exactly,
after sanitising timings and paths; image outputs must be present with the same mime types
(figures carry a text/plain digest of their pixels, so image changes show up as text changes).
A cell whose output says "panicked at" fails (evcxr reports a panic only as stderr text), and so
does a compile error (an error output), naming the cell and the message.

Cells tagged "nondeterministic" are executed but their outputs are not compared. Cells tagged
"ci-skip" are skipped when SJ_NOTEBOOK_FAST=1 (long training runs; the stored output stays).
"""
import copy
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "sj-rust"
TIMEOUT = int(os.environ.get("SJ_NOTEBOOK_TIMEOUT", "1800"))

SANITISE = [
    (re.compile(r"\d+(\.\d+)?\s?(ms|µs|us|ns|s)\b"), "<time>"),
    (re.compile(r"\d+(\.\d+)?\s?(samples|steps|it)/s\b"), "<rate>"),
    (re.compile(str(ROOT)), "<repo>"),
    (re.compile(r"/(tmp|root|home)/[^\s\"']*"), "<path>"),
]


class NotebookFailure(AssertionError):
    pass


def sanitise(text):
    for pattern, repl in SANITISE:
        text = pattern.sub(repl, text)
    return text.rstrip()


def cell_outputs(cell):
    """The comparable form of a cell's outputs: (kind, mime or stream name, text or None)."""
    out = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            out.append(("stream", o["name"], sanitise(o["text"])))
        elif o["output_type"] in ("execute_result", "display_data"):
            for mime, data in sorted(o["data"].items()):
                text = sanitise(data if isinstance(data, str) else "".join(data))
                out.append(("data", mime, None if mime.startswith("image/") and mime != "image/svg+xml" else text))
        elif o["output_type"] == "error":
            out.append(("error", o["ename"], sanitise(o["evalue"])))
    return out


def check_errors(nb, name):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            text = ""
            if o["output_type"] == "stream":
                text = o["text"]
            elif o["output_type"] == "error":
                text = o["ename"] + ": " + o["evalue"] + "\n" + "\n".join(o.get("traceback", []))
                raise NotebookFailure(f"{name} cell {i}: error\n{cell.source[:300]}\n---\n{text[:3000]}")
            if "panicked at" in text:
                raise NotebookFailure(f"{name} cell {i}: panic\n{cell.source[:300]}\n---\n{text[:3000]}")


def execute(path, fast=None):
    """Executes a notebook through the Rust kernel; returns the executed copy."""
    nb = nbformat.read(path, as_version=4)
    fast = os.environ.get("SJ_NOTEBOOK_FAST") == "1" if fast is None else fast
    skipped = {}
    run = copy.deepcopy(nb)
    if fast:
        for i, cell in enumerate(run.cells):
            if "ci-skip" in cell.get("metadata", {}).get("tags", []):
                skipped[i] = cell
        run.cells = [c for i, c in enumerate(run.cells) if i not in skipped]
    client = NotebookClient(
        run,
        timeout=TIMEOUT,
        kernel_name=KERNEL,
        allow_errors=True,
        startup_timeout=180,
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    client.execute()
    cells = iter(run.cells)
    merged = [skipped[i] if i in skipped else next(cells) for i in range(len(nb.cells))]
    run.cells = merged
    check_errors(run, Path(path).name)
    return run


def compare(stored, fresh, name):
    problems = []
    for i, (a, b) in enumerate(zip(stored.cells, fresh.cells)):
        if a.cell_type != "code" or "nondeterministic" in a.get("metadata", {}).get("tags", []):
            continue
        sa, fb = cell_outputs(a), cell_outputs(b)
        if sa != fb:
            problems.append(f"cell {i}:\n  stored: {sa!r:.1500}\n  fresh:  {fb!r:.1500}")
    if len(stored.cells) != len(fresh.cells):
        problems.append("cell count changed")
    if problems:
        raise NotebookFailure(f"{name}: outputs differ from the stored ones\n" + "\n".join(problems)
                              + "\nIf the change is intended: python tests/notebooks.py update " + name)


def all_notebooks():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_notebook(nb_path):
    stored = nbformat.read(nb_path, as_version=4)
    check_errors(stored, nb_path.name)
    fresh = execute(nb_path)
    compare(stored, fresh, nb_path.name)


def pytest_generate_tests(metafunc):
    if "nb_path" in metafunc.fixturenames:
        paths = all_notebooks()
        metafunc.parametrize("nb_path", paths, ids=[p.stem for p in paths])


def key_result(nb):
    """The last text/plain line of the cell tagged "key-result" (or of the last cell with output)."""
    tagged = [c for c in nb.cells if "key-result" in c.get("metadata", {}).get("tags", [])]
    for cell in reversed(tagged or nb.cells):
        for o in reversed(cell.get("outputs", [])):
            text = o.get("text") or o.get("data", {}).get("text/plain")
            if text:
                return "".join(text).strip()
    return "(no output)"


def main(argv):
    if len(argv) >= 2 and argv[0] == "run":
        src = Path(argv[1]).resolve()
        out_dir = Path(argv[argv.index("--out") + 1]) if "--out" in argv else src.parent / "executed"
        out_dir.mkdir(parents=True, exist_ok=True)
        nb = execute(src, fast=False)
        dest = out_dir / src.name
        nbformat.write(nb, dest)
        images = sum(1 for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {}) if m.startswith("image/"))
        print(f"executed {src.name} -> {dest} ({images} inline images)")
        print("key result:", key_result(nb))
        return 0
    if argv and argv[0] == "update":
        paths = [Path(p).resolve() for p in argv[1:]] or all_notebooks()
        for p in paths:
            nb = execute(p)
            nbformat.write(nb, p)
            print(f"updated stored outputs of {p.name}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
