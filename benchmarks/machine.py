"""The machine a benchmark ran on, in one line (CPU, cores, GPUs, TensorFlow)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf

    gpus = [
        tf.config.experimental.get_device_details(g).get("device_name", g.name)
        for g in tf.config.list_physical_devices("GPU")
    ]
    return (
        f"{cpu}, {os.cpu_count()} cores"
        + (f", GPU: {', '.join(gpus)}" if gpus else ", no GPU")
        + f", TF {tf.__version__}"
    )
