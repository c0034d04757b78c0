"""Start JupyterLab on the lessons the way `make lab` does, wherever a learner runs it.

- Binds to localhost only (the server runs code for whoever holds the token).
- As root (the default user in most GPU containers) adds --allow-root, and says so.
- Prints the URL with its token, and the one-line SSH tunnel command that opens it from a
  laptop when this is a remote (GPU) instance; over SSH outside tmux/screen, suggests tmux (the
  server and its kernels die with the SSH session otherwise).
- Checks that the lessons' kernel, "gan_lab" (tools/kernel.py, registered in .venv by
  `make install`), is there; this venv's `jupyter lab` finds it without any help.
- GAN_LAB_QUICK and every other variable of the environment reach the kernels unchanged.

Usage: python tools/lab.py [--port 8888] [--token TOKEN] [FOLDER] [-- extra jupyter options]
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

KERNEL = "gan_lab"  # the kernel the lessons' notebooks name (tools/kernel.py)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on localhost:port yet."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def ssh_target() -> str:
    """`user@host` for the tunnel command: the address this SSH session came in on when there
    is one (SSH_CONNECTION's third field), else this machine's name."""
    fields = os.environ.get("SSH_CONNECTION", "").split()
    host = fields[2] if len(fields) == 4 else socket.gethostname()
    return f"{getpass.getuser()}@{host}"


def jupyter_command(folder: str, port: int, token: str, extra: list[str]) -> list[str]:
    """The `jupyter lab` command line (without --allow-root)."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    return [
        jupyter,
        "lab",
        folder,
        "--no-browser",
        "--ServerApp.ip=localhost",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the printed URL and tunnel must stay true
        f"--IdentityProvider.token={token}",
        *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="notebooks")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--token", default=None, help="default: a fresh random one")
    args = parser.parse_args(argv)

    if not port_is_free(args.port):
        print(
            f"gan_lab: port {args.port} is already in use on this machine (another JupyterLab?). "
            f"Pick another one: make lab PORT={args.port + 1}",
            file=sys.stderr,
        )
        return 2
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        print(
            f'gan_lab: the lessons\' Jupyter kernel "{KERNEL}" is not registered: run make install',
            file=sys.stderr,
        )
        return 2
    token = args.token or secrets.token_hex(24)
    command = jupyter_command(args.folder, args.port, token, extra)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
        print("gan_lab: running as root, so JupyterLab is started with --allow-root.")
    quick = os.environ.get("GAN_LAB_QUICK")
    if quick is not None:
        print(f"gan_lab: GAN_LAB_QUICK={quick} is passed on to the lessons' kernels.")
    url = f"http://localhost:{args.port}/lab?token={token}"
    print(f"gan_lab: JupyterLab on this machine: {url}")
    print(
        "gan_lab: on a remote (GPU) instance, run this on your laptop, then open the URL above "
        "there:\n"
        f"    ssh -N -L {args.port}:localhost:{args.port} {ssh_target()}\n"
        "  (the user and address you log in to this instance with). Ctrl-C here stops JupyterLab.",
        flush=True,
    )
    if os.environ.get("SSH_CONNECTION") and not (os.environ.get("TMUX") or os.environ.get("STY")):
        print(
            "gan_lab: JupyterLab and its lessons stop when this SSH session ends; for long runs "
            "start it inside tmux: tmux new -s lab, then make lab (detach: Ctrl-b d).",
            flush=True,
        )
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
