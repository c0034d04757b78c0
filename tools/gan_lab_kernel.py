"""The launcher of the "gan_lab" Jupyter kernel (installed by tools/kernel.py, see there).

It runs the project's .venv Python, so a lesson imports gan_lab in any JupyterLab that lists the
kernel. On a machine without an NVIDIA GPU, TensorFlow's C++ start-up notes about the missing CUDA
driver ("Could not find cuda drivers", "failed call to cuInit: ... (303)", oneDNN's "port.cc"
note) are printed from static initialisers, before TF_CPP_MIN_LOG_LEVEL takes effect, and
JupyterLab shows them as red stderr blocks that read as errors. So when no GPU is present this
launcher imports TensorFlow and probes its devices *before* the kernel starts capturing output:
those lines go to the terminal (or log) of the Jupyter server (nothing is discarded), and the
lesson's first cells show only gan_lab's own lines. Anything TensorFlow prints later, and every
Python exception, shows in the notebook as usual. With an NVIDIA driver the kernel starts
unchanged.
"""

import os
import shutil
import sys
from pathlib import Path


def has_nvidia_gpu() -> bool:
    """Whether an NVIDIA driver is visible: `nvidia-smi` on PATH or a /dev/nvidia0 device."""
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


def probe_tensorflow() -> None:
    """Import TensorFlow and list its GPUs, so its start-up notes are printed now.

    Importing TensorFlow imports Keras and so matplotlib.pyplot (keras.src.visualization), before
    ipykernel would set MPLBACKEND; so it is set here as ipykernel sets it, and kernel.json passes
    --matplotlib=inline, which hooks the inline backend into the shell once it exists (figures
    then show exactly as in a plain kernel).
    """
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    except Exception as error:  # noqa: BLE001 - the lesson's own import raises it again, visibly
        print(f"gan_lab kernel: importing TensorFlow failed: {error!r}", file=sys.stderr)


if __name__ == "__main__":
    if not has_nvidia_gpu():
        probe_tensorflow()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
