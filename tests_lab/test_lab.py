"""The lessons as a learner runs them: JupyterLab in a real browser (`make test-lab`).

papermill (`make notebooks`) runs kernels, not the page a learner sees. This test starts JupyterLab
through tools/lab.py (what `make lab` runs: this venv's plain `jupyter lab`) on a free local port
with GAN_LAB_QUICK=1, opens each lesson in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright; nothing is downloaded), runs it with the page's own menu (Run > Run All Cells), waits
until the kernel is idle and every code cell has run, and fails on any red output block: anything
on stderr or an exception, in any cell, found both in the page and in the saved notebook (so a
cell JupyterLab did not render is checked too), or a cell that never ran, or a kernel other than
"gan_lab". It checks that the progress bars rendered as widgets and the GIFs as images, and saves
a screenshot of each lesson's final figures under outputs/test-lab/.

It runs on copies of the notebooks (outputs/test-lab/notebooks/), saved after the run, so the
committed ones stay stripped. GAN_LAB_TEST_LAB_NOTEBOOKS=FOLDER runs the lessons of another folder
instead (for example a copy with a planted `print("x", file=sys.stderr)`, to see the test fail).
It lives outside tests/ so `pytest tests` never starts a browser.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "test-lab"
SOURCE = Path(os.environ.get("GAN_LAB_TEST_LAB_NOTEBOOKS") or ROOT / "notebooks")
LESSONS = sorted(p.name for p in SOURCE.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "gan_lab"  # the kernel every lesson names (tools/kernel.py)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Seconds one lesson may take from "Run All Cells" to the last cell (quick mode, kernel start
# included); a stuck cell fails the test after this.
LESSON_TIMEOUT = float(os.environ.get("GAN_LAB_TEST_LAB_TIMEOUT", "900"))
# JupyterLab settings for the test only: no autosave (the copies are saved once, at the end), no
# news or update checks (no network).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}
LAB_OPTIONS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]

# What the page shows, read in the browser. Red blocks are JupyterLab's stderr/error outputs.
STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return {prompts: [], status: null, kernel: null};
  const cells = [...panel.querySelectorAll('.jp-CodeCell')];
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = panel.querySelector('[data-jp-item-name="kernelName"]');
  return {
    prompts: cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || ''),
    status: indicator ? indicator.getAttribute('data-status') : null,
    kernel: kernel ? kernel.textContent.trim() : null,
  };
}"""
OUTPUTS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = [...panel.querySelectorAll('.jp-CodeCell')];
  const red = [];
  cells.forEach((c, i) => c.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(
      o => red.push({cell: i, text: o.textContent.slice(0, 2000)})));
  const gifs = [...panel.querySelectorAll('.jp-OutputArea-output img')].filter(
      im => (im.getAttribute('src') || '').startsWith('data:image/gif') ||
            /\\.gif($|\\?)/.test(im.getAttribute('src') || ''));
  const text = panel.querySelector(".jp-Notebook").textContent;
  return {
    red,
    progress_widgets: panel.querySelectorAll(
        '.jp-OutputArea-output .jupyter-widgets .widget-hprogress, ' +
        '.jp-OutputArea-output .jupyter-widgets.widget-hprogress').length,
    widget_views: panel.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
    widget_errors: (text.match(/Error displaying widget[^\\n]*|Loading widget\\.\\.\\./g) || []),
    widget_as_text: [...panel.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="text/plain"]')].map(o => o.textContent).filter(
        t => /^(HBox|FloatProgress|IntProgress)\\(/.test(t)).map(t => t.slice(0, 200)),
    gifs: gifs.map(im => ({loaded: im.complete && im.naturalWidth > 0, w: im.naturalWidth})),
    images: panel.querySelectorAll('.jp-OutputArea-output img').length,
    figures: panel.querySelectorAll('.jp-OutputArea-output img[src^="data:image/png"]').length,
  };
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    request = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def _tail(path: Path, n: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def red_outputs(notebook: dict) -> list[dict]:
    """Every stderr stream and error output of a notebook: {"cell", "text"} with the code
    cell's 0-based index, as the page numbers them."""
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    red = []
    for index, cell in enumerate(code):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                text = f"{output['ename']}: {output['evalue']}"
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"])
            else:
                continue
            red.append({"cell": index, "text": text[:2000]})
    return red


def _saved(base: str, token: str, lesson: str, before: str) -> dict:
    """The lesson's notebook as saved after the run (waits for a save newer than ``before``)."""
    deadline = time.monotonic() + 60
    while _api(base, token, f"/api/contents/{lesson}?content=0")["last_modified"] == before:
        if time.monotonic() > deadline:
            pytest.fail(f"{lesson} was not saved after its run (Ctrl+S)")
        time.sleep(1)
    return _api(base, token, f"/api/contents/{lesson}?type=notebook&content=1")["content"]


@pytest.fixture(scope="session")
def lab():
    """A JupyterLab server started by tools/lab.py on copies of the lessons: (url, token)."""
    work = OUT / "notebooks"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(SOURCE, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = OUT / "lab-settings"
    for folder in (settings, OUT / "lab-workspaces", OUT / "runs"):
        shutil.rmtree(folder, ignore_errors=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = dict(
        os.environ,
        GAN_LAB_QUICK="1",
        GAN_LAB_OUTPUT_DIR=str(OUT / "runs"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(OUT / "lab-workspaces"),
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # ipykernel does not capture the kernel's file descriptors 1 and 2 under pytest (it looks
    # for this variable), so C-level output such as TensorFlow's log lines would never reach
    # the notebook, and the page would look clean when a learner's is not.
    env.pop("PYTEST_CURRENT_TEST", None)
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, str(ROOT / "tools" / "lab.py"), "--port", str(port)]
    command += ["--token", token, str(work), "--", *LAB_OPTIONS]
    log_path = OUT / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{_tail(log_path)}")
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 120 s:\n{_tail(log_path)}")
                time.sleep(1)
        yield base, token
    finally:
        server.send_signal(signal.SIGTERM)  # shuts its kernels down too
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test-lab` installs Debian's chromium as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _wait_until(page, predicate, timeout: float, what: str, poll: float = 2.0):
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(STATE_JS)
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached in {timeout:.0f} s; page state: {state}")
        time.sleep(poll)


def kernel_idle(state) -> bool:
    """A kernel is attached (the toolbar names it) and idle."""
    return state["status"] == "idle" and state["kernel"] not in (None, "", "No Kernel")


def _run_all_cells(page) -> None:
    """Run > Run All Cells, clicked in the page's menu bar as a learner would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def _screenshot_final_figures(page, path: Path) -> None:
    """One PNG of the lesson's GIF cell above its last figure's cell (side by side in the
    page, stacked here). Without images: the first red block's cell, else the last cell."""
    marked = page.evaluate(
        """() => {
      const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
      const imgs = [...panel.querySelectorAll('.jp-OutputArea-output img')];
      const gif = imgs.filter(im => (im.getAttribute('src') || '').includes('image/gif')).pop();
      const figure = imgs.filter(im => im !== gif).pop();
      const red = panel.querySelector(
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
      const cells = panel.querySelectorAll('.jp-Cell');
      let targets = [gif, figure].filter(Boolean).map(el => el.closest('.jp-Cell'));
      if (!targets.length) targets = [(red && red.closest('.jp-Cell')) || cells[cells.length - 1]];
      [...new Set(targets)].forEach((cell, k) => cell.setAttribute('data-test-lab-shot', k));
      return new Set(targets).size;
    }"""
    )
    from PIL import Image

    page.mouse.move(0, 0)  # no hover toolbar over the cells
    parts = []
    for k in range(marked):
        cell = page.locator(f'[data-test-lab-shot="{k}"]')
        cell.scroll_into_view_if_needed()
        # A GIF is restarted and shot in the middle of its last frame (the trained result).
        page.wait_for_timeout(max(500, _ms_to_last_frame(cell)))
        part = path.with_name(f".{path.stem}.{k}.png")
        cell.screenshot(path=str(part))
        parts.append(Image.open(part).convert("RGB"))
        part.unlink()
    sheet = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for part in parts:
        sheet.paste(part, (0, y))
        y += part.height
    sheet.save(path)


def _ms_to_last_frame(cell) -> int:
    """Restart the cell's GIF (a data URL) and return the milliseconds to the middle of its
    last frame; 0 when the cell shows no GIF."""
    import base64
    import io

    from PIL import Image

    src = cell.evaluate(
        "c => { const im = [...c.querySelectorAll('img')].find("
        "i => (i.getAttribute('src') || '').startsWith('data:image/gif')); "
        "if (!im) return null; const src = im.getAttribute('src'); "
        "im.setAttribute('src', ''); im.setAttribute('src', src); "  # restart: play from frame 0
        "return src; }"
    )
    if not src:
        return 0
    gif = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    durations = []
    for index in range(getattr(gif, "n_frames", 1)):
        gif.seek(index)
        durations.append(int(gif.info.get("duration", 100)))
    return sum(durations[:-1]) + durations[-1] // 2


@pytest.mark.parametrize("lesson", LESSONS, ids=[name.split(".")[0] for name in LESSONS])
def test_lesson_runs_in_jupyterlab(lab, browser, lesson):
    base, token = lab
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    started = time.monotonic()
    unsaved = _api(base, token, f"/api/contents/{lesson}?content=0")["last_modified"]
    try:
        # ?reset: a fresh workspace, so no earlier lesson's tab (and kernel) is restored.
        page.goto(f"{base}/lab/tree/{lesson}?reset&token={token}", timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=120_000)
        _wait_until(page, kernel_idle, 180, "the kernel started and idle")
        kernel_ready = time.monotonic()
        _run_all_cells(page)
        started_running = lambda s: any("*" in p or re.search(r"\[\d+\]", p) for p in s["prompts"])
        _wait_until(page, started_running, 60, "a cell running or run")
        # Done: nothing queued or running, and the kernel idle on three polls in a row.
        idle_polls = [0]

        def finished(state):
            quiet = kernel_idle(state) and not any("*" in p for p in state["prompts"])
            idle_polls[0] = idle_polls[0] + 1 if quiet else 0
            return idle_polls[0] >= 3

        state = _wait_until(page, finished, LESSON_TIMEOUT, "the last cell finishing")
        ran = time.monotonic()
        page.wait_for_timeout(2000)  # late widget and image renders
        outputs = page.evaluate(OUTPUTS_JS)
        stem = lesson.split(".")[0]
        shot = OUT / f"{stem}.png"
        _screenshot_final_figures(page, shot)
        page.keyboard.press("Control+s")  # keep the executed copy, and check what it holds
        saved = _saved(base, token, lesson, unsaved)
        print(
            f"\n{lesson}: kernel ready in {kernel_ready - started:.0f} s, cells ran in "
            f"{ran - kernel_ready:.0f} s; {len(state['prompts'])} code cells, "
            f"{outputs['progress_widgets']} progress-bar widgets, {len(outputs['gifs'])} GIFs, "
            f"{outputs['figures']} PNG figures; screenshot {shot.relative_to(ROOT)}"
        )
        never_ran = [i for i, p in enumerate(state["prompts"]) if not re.search(r"\[\d+\]", p)]
        found = outputs["red"] + [r for r in red_outputs(saved) if r not in outputs["red"]]
        red = "\n\n".join(f"code cell {r['cell']}:\n{r['text']}" for r in found)
        assert not found, f"red output blocks (errors or stderr) in {lesson}:\n{red}"
        assert state["kernel"].startswith(KERNEL), f"{lesson} ran in kernel {state['kernel']!r}"
        assert not never_ran, f"code cells that never ran in {lesson} (0-based): {never_ran}"
        assert outputs["progress_widgets"] >= 1, f"no progress bar rendered as a widget: {outputs}"
        assert not outputs["widget_errors"], f"widgets failed to render: {outputs}"
        assert not outputs["widget_as_text"], f"widgets shown as text: {outputs}"
        assert outputs["figures"], f"no matplotlib figure (PNG) shown in {lesson}"
        assert outputs["gifs"], f"no GIF rendered as an image in {lesson}"
        assert all(g["loaded"] for g in outputs["gifs"]), f"a GIF did not load: {outputs['gifs']}"
    finally:
        page.close()
        for session in _api(base, token, "/api/sessions") or []:  # free the kernel's memory
            _api(base, token, f"/api/sessions/{session['id']}", method="DELETE")


def test_make_lab_starts_as_root_and_prints_the_tunnel_command():
    """`make lab PORT=...` starts (with --allow-root when root) and prints URL and tunnel."""
    port = _free_port()
    env = dict(os.environ, GAN_LAB_QUICK="1")
    make = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(make.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("is running at" in line for line in lines) and reader.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        output = "".join(lines)
        url = re.search(rf"http://localhost:{port}/lab\?token=[0-9a-f]+", output)
        assert url, output
        assert re.search(rf"ssh -N -L {port}:localhost:{port} \S+@\S+", output), output
        assert "GAN_LAB_QUICK=1 is passed on" in output, output
        if os.geteuid() == 0:
            assert "started with --allow-root" in output, output
        assert "is running at" in output, output
        with urllib.request.urlopen(url.group(0).replace("localhost", "127.0.0.1"), timeout=10):
            pass  # 200: the printed URL and token open JupyterLab
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(30)


def test_a_plain_jupyter_finds_the_lessons_kernel():
    """A JupyterLab the project did not start (this venv's plain `jupyter`, no JUPYTER_PATH)
    lists the "gan_lab" kernel, which runs this environment's Python; every lesson names it."""
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    jupyter = Path(sys.executable).with_name("jupyter")
    listed = subprocess.run(
        [str(jupyter), "kernelspec", "list", "--json"], env=env, capture_output=True, text=True
    )
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert KERNEL in specs, f"no {KERNEL} kernel (run make install): {sorted(specs)}"
    assert Path(specs[KERNEL]["spec"]["argv"][0]) == Path(sys.executable)
    for lesson in LESSONS:
        notebook = json.loads((SOURCE / lesson).read_text())
        assert notebook["metadata"]["kernelspec"]["name"] == KERNEL, lesson
