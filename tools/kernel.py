"""Register the "gan_lab" Jupyter kernel: this Python (the project's .venv) and gan_lab_kernel.py.

The lessons' notebooks ask for the kernel named "gan_lab", so any JupyterLab that lists it runs
them in the project's environment, where `import gan_lab` works:

- `--sys-prefix` (what every `make` target relies on) installs it into the venv itself
  (.venv/share/jupyter/kernels/gan_lab/): the venv's own `jupyter lab`, `make lab`, nbval and
  papermill find it there first (Jupyter prefers the environment's folders inside a venv).
- `--user` (`make install`) installs it for your user too (~/.local/share/jupyter/kernels/), so a
  JupyterLab from another Python (a provider's, a system one) run by the same user lists it.

Usage: .venv/bin/python tools/kernel.py (--sys-prefix | --user)
       .venv/bin/python tools/kernel.py (--check | --set) NOTEBOOK...   (`make lint` checks)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

NAME = "gan_lab"
TOOLS = Path(__file__).resolve().parent
LAUNCHER = TOOLS / "gan_lab_kernel.py"


def display_name() -> str:
    """The name JupyterLab shows in its launcher and kernel menus, e.g. "gan_lab (Python 3.11)"."""
    return f"{NAME} (Python {sys.version_info.major}.{sys.version_info.minor})"


def kernel_spec() -> dict:
    """kernel.json: start gan_lab_kernel.py (copied beside it) with this very interpreter.

    --matplotlib=inline: the launcher may import TensorFlow, and with it matplotlib, before
    ipykernel would select its inline backend, so the kernel is told to hook it in.
    """
    return {
        "argv": [
            sys.executable,
            "{resource_dir}/" + LAUNCHER.name,
            "-f",
            "{connection_file}",
            "--matplotlib=inline",
        ],
        "display_name": display_name(),
        "language": "python",
        "metadata": {"debugger": True},
    }


def install(user: bool) -> Path:
    """Install (or replace) the kernel spec; returns the folder it was written to."""
    import ipykernel
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps(kernel_spec(), indent=1) + "\n")
        shutil.copy(LAUNCHER, spec / LAUNCHER.name)
        for logo in (Path(ipykernel.__file__).parent / "resources").glob("logo-*"):
            shutil.copy(logo, spec / logo.name)
        where = {"user": True} if user else {"prefix": sys.prefix}
        return Path(KernelSpecManager().install_kernel_spec(str(spec), NAME, **where))


def notebook_kernelspec() -> dict:
    """The ``metadata.kernelspec`` every lesson carries: it names the "gan_lab" kernel."""
    return {"display_name": display_name(), "language": "python", "name": NAME}


def check_notebooks(paths: list[Path], fix: bool) -> int:
    """Report (or, with ``fix``, rewrite) notebooks whose kernelspec is not "gan_lab"."""
    wrong = []
    for path in paths:
        text = path.read_text()
        notebook = json.loads(text)
        if notebook.get("metadata", {}).get("kernelspec", {}).get("name") == NAME:
            continue
        wrong.append(path)
        if fix:
            notebook.setdefault("metadata", {})["kernelspec"] = notebook_kernelspec()
            ending = "\n" if text.endswith("\n") else ""
            path.write_text(
                json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + ending
            )
    for path in wrong:
        verb = "now names" if fix else "does not name"
        print(f'gan_lab: {path} {verb} the "{NAME}" kernel', file=sys.stderr)
    if wrong and not fix:
        print("Fix: .venv/bin/python tools/kernel.py --set NOTEBOOK...", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--sys-prefix", action="store_true", help="install into this venv")
    action.add_argument("--user", action="store_true", help="install for this user")
    action.add_argument("--check", action="store_true", help="notebooks name the kernel?")
    action.add_argument("--set", action="store_true", help="make notebooks name the kernel")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.check or args.set:
        return check_notebooks(args.notebooks, fix=args.set)
    folder = install(user=args.user)
    print(f'gan_lab: Jupyter kernel "{display_name()}" ({sys.executable}) registered in {folder}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
