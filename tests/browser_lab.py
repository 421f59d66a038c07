"""Browser test: JupyterLab as a researcher opens it (issue 16), driven in real headless Chromium.

    python tests/browser_lab.py          # or: python -m pytest tests/browser_lab.py

It starts `./lab.sh` (the README's lab command) on a free loopback port, serving a scratch folder
`.browser-test/` at the repository root (so the notebooks' `:dep sj = { path = "../sj-lib" }`
resolves as it does from `notebooks/`, and the stored notebooks are never touched), and drives
Debian's Chromium through ChromeDriver with Selenium:

1. opens `00_quickstart.ipynb` (a copy without its stored outputs), runs all cells from the Run menu, waits for every cell to finish,
   then checks the inline figures (`<img>` elements that decoded), the HTML table, that no output
   is an error or a panic, and saves a screenshot to `artifacts/browser/quickstart.png`;
2. opens a notebook of checks and runs its cells one by one from the keyboard: a library error
   (`LIFNode::new(0.5)?`) shows sj's `Err` message and the kernel keeps the variables defined
   before it; a long cell is interrupted with the toolbar's stop button and the kernel runs the
   next cell.

Timings and the outcome of each step are printed, and written to `artifacts/browser/report.json`.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".browser-test"
ARTIFACTS = Path(os.environ.get("SJ_ARTIFACTS", ROOT / "artifacts")) / "browser"
TOKEN = "sj-browser-test"
# The first `:dep sj` compiles sj (and tch when the kernel's build cache is cold).
COMPILE_TIMEOUT = int(os.environ.get("SJ_BROWSER_TIMEOUT", "1800"))

CHECKS = [
    ':dep sj = { path = "../sj-lib" }',
    'use sj::prelude::*;\nlet kept = vec![1, 2, 3];\nprintln!("defined kept");',
    "// A library error: tau must be > 1. The cell shows the Err; the kernel lives on.\n"
    "let bad = LIFNode::new(0.5)?;",
    'println!("kept after the error: {:?}", kept);',
    'println!("long cell started");\n'
    "loop { std::thread::sleep(std::time::Duration::from_millis(50)); }",
    'println!("after the interrupt: {}", 6 * 7);',
    'println!("kept after the interrupt: {:?}", kept);',
]


def log(msg):
    print(f"[browser] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout, poll=0.5):
    """Polls `predicate` until it returns a truthy value; raises naming `what` on timeout."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = predicate()
        except WebDriverException:
            last = None
        if last:
            return last
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_lab(port):
    env = dict(os.environ, SJ_LAB_DIR=str(WORK))
    out = open(ARTIFACTS / "lab.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / "lab.sh"), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0"],
        stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"lab.sh exited with {proc.returncode}; see {ARTIFACTS / 'lab.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_for("JupyterLab to listen", up, 180)
    return proc, url


def shut_down_kernels(url):
    """Shuts every kernel down through the REST API, as Kernel → Shut Down does: a running kernel
    holds its evcxr build slot, and a second kernel would build in a cold one."""
    kernels = json.load(urllib.request.urlopen(f"{url}/api/kernels?token={TOKEN}", timeout=10))
    for k in kernels:
        req = urllib.request.Request(f"{url}/api/kernels/{k['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(req, timeout=30)


def stop_lab(proc, url):
    """Shuts the kernels down, then the server (SIGTERM: its clean shutdown)."""
    if proc.poll() is None:
        try:
            shut_down_kernels(url)
        except OSError as e:
            log(f"could not shut the kernels down through the API: {e}")
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def browser():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1800",
                 f"--user-data-dir={WORK / '.chromium'}"]:
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def open_notebook(driver, url, name):
    # `reset`: a fresh workspace, so this notebook is the only one open.
    driver.get(f"{url}/lab/tree/{name}?reset&token={TOKEN}")
    wait_for(f"{name} to open", lambda: driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell"), 120)
    # The kernel named in the notebook's metadata ("Rust (sj)") starts by itself.
    wait_for("the Rust (sj) kernel to be idle", lambda: kernel_idle(driver), 180)


def kernel_idle(driver):
    status = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    if status:
        return "idle" in (status[0].get_attribute("data-status") or "")
    name = driver.find_elements(By.CSS_SELECTOR, ".jp-KernelName")
    return bool(name) and "Rust (sj)" in name[0].text


def menu(driver, top, command):
    item = [e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item") if e.text.strip() == top]
    assert item, f"no {top} menu"
    item[0].click()
    entry = wait_for(f"menu entry {command}", lambda: driver.find_elements(
        By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]'), 10)
    entry[0].click()


def code_cells(driver):
    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")


def prompt(cell):
    return cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-prompt").text.strip()


def finished(cell):
    p = prompt(cell)
    return p.startswith("[") and p[1:-2].strip().isdigit()


def outputs(cell):
    """(mime type, text) of each output of a cell."""
    return [(o.get_attribute("data-mime-type") or "", o.text)
            for o in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")]


def assert_no_error(cells, allowed=()):
    for i, cell in enumerate(cells):
        if i in allowed:
            continue
        for mime, text in outputs(cell):
            bad = "panicked at" in text or mime == "application/vnd.jupyter.stderr" and (
                "error" in text.lower())
            assert not bad, f"cell {i}: error output ({mime}): {text[:1500]}"


def quickstart(driver, url, report):
    t0 = time.monotonic()
    open_notebook(driver, url, "00_quickstart.ipynb")
    menu(driver, "Run", "runmenu:run-all")
    cells = code_cells(driver)
    wait_for("every quickstart cell to finish", lambda: all(finished(c) for c in code_cells(driver)),
             COMPILE_TIMEOUT, poll=2)
    report["quickstart_run_all_s"] = round(time.monotonic() - t0, 1)
    cells = code_cells(driver)
    assert_no_error(cells)
    images = driver.execute_script(
        "return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')]"
        ".map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(images) >= 2 and all(w > 0 and h > 0 for w, h in images), f"inline figures: {images}"
    tables = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedHTMLCommon table")
    assert tables and "firing rate" in tables[0].text, "the HTML table of firing rates"
    text = "\n".join(t for c in cells for _, t in outputs(c))
    assert "spike counts per neuron" in text and "after reset_net: output shape [8, 4, 3]" in text, text[-2000:]
    report["quickstart"] = {"cells": len(cells), "images": images, "table_rows": len(
        tables[0].find_elements(By.TAG_NAME, "tr"))}
    shot = ARTIFACTS / "quickstart.png"
    # The whole notebook: scroll the figures into view, then capture the window.
    driver.execute_script("arguments[0].scrollIntoView()", driver.find_elements(
        By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")[0])
    driver.save_screenshot(str(shot))
    report["screenshot"] = str(shot)
    log(f"quickstart ran in {report['quickstart_run_all_s']} s: {len(images)} figures, table, no errors")


def run_cell(driver, i, timeout):
    """Selects code cell i, runs it with Shift+Enter and waits until it finishes."""
    cell = code_cells(driver)[i]
    before = prompt(cell)
    cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-prompt").click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    wait_for(f"cell {i} to start", lambda: prompt(code_cells(driver)[i]) != before or finished(code_cells(driver)[i]), 30, poll=0.2)
    wait_for(f"cell {i} to finish", lambda: finished(code_cells(driver)[i]), timeout, poll=0.5)
    return outputs(code_cells(driver)[i])


def checks(driver, url, report):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "sj-rust", "display_name": "Rust (sj)", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CHECKS]
    nbformat.write(nb, WORK / "checks.ipynb")
    open_notebook(driver, url, "checks.ipynb")
    t0 = time.monotonic()
    run_cell(driver, 0, COMPILE_TIMEOUT)
    report["checks_dep_s"] = round(time.monotonic() - t0, 1)
    log(f"checks: :dep sj took {report['checks_dep_s']} s")
    assert any("defined kept" in t for _, t in run_cell(driver, 1, 300))
    err = "\n".join(t for _, t in run_cell(driver, 2, 300))
    assert "LIFNode" in err and "tau" in err, f"the Err message of LIFNode::new(0.5): {err!r}"
    report["library_error_output"] = err.strip()
    kept = "\n".join(t for _, t in run_cell(driver, 3, 300))
    assert "kept after the error: [1, 2, 3]" in kept, kept
    # The long cell: wait until it runs, then interrupt it from the Kernel menu.
    cell = code_cells(driver)[4]
    cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-prompt").click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    wait_for("the long cell to start", lambda: any("long cell started" in t for _, t in outputs(code_cells(driver)[4])), 300)
    t0 = time.monotonic()
    driver.find_element(By.CSS_SELECTOR,
                        '.jp-NotebookPanel:not(.lm-mod-hidden) [data-command="notebook:interrupt-kernel"]').click()
    wait_for("the interrupted cell to end", lambda: finished(code_cells(driver)[4]), 60)
    report["interrupt_s"] = round(time.monotonic() - t0, 1)
    report["interrupt_output"] = "\n".join(t for _, t in outputs(code_cells(driver)[4])).strip()
    after = "\n".join(t for _, t in run_cell(driver, 5, 600))
    assert "after the interrupt: 42" in after, f"the kernel after the interrupt: {after!r}"
    report["after_interrupt_kept"] = "\n".join(t for _, t in run_cell(driver, 6, 600)).strip()
    driver.save_screenshot(str(ARTIFACTS / "checks.png"))
    log(f"library error shown, variables kept; interrupt took {report['interrupt_s']} s, kernel usable")


def main():
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"]:
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing: run `source setup.sh && sj_setup_browser` (test.sh does)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The quickstart without its stored outputs, so every output checked comes from this run.
    nb = nbformat.read(ROOT / "notebooks" / "00_quickstart.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, WORK / "00_quickstart.ipynb")
    report = {}
    t0 = time.monotonic()
    proc, url = start_lab(free_port())
    report["lab_start_s"] = round(time.monotonic() - t0, 1)
    driver = None
    try:
        driver = browser()
        quickstart(driver, url, report)
        shut_down_kernels(url)
        checks(driver, url, report)
    except BaseException:
        if driver is not None:
            driver.save_screenshot(str(ARTIFACTS / "failure.png"))
            (ARTIFACTS / "failure.html").write_text(driver.page_source)
        raise
    finally:
        if driver is not None:
            driver.quit()
        stop_lab(proc, url)
        report["total_s"] = round(time.monotonic() - t0, 1)
        (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=1))
        log(json.dumps(report, indent=1))
        shutil.rmtree(WORK, ignore_errors=True)


def test_jupyterlab_in_a_browser():
    main()


if __name__ == "__main__":
    main()
