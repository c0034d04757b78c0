"""gan_lab: the helper package of a hands-on course on GANs in Keras 3 / TensorFlow.

Modules, one concept each:
    runtime   quick mode, seeding, output and data folders, device report
    data      datasets: real ones (downloaded, checksummed) and synthetic quick-mode ones
    models    Keras model builders (DCGAN, ...)
    losses    GAN losses as pure functions
    steps     compiled train steps, one per kind of GAN
    training  the one training loop every lesson uses (progress, checkpoints, frames)
    viz       image grids, loss curves, GIFs
    metrics   numbers that tell whether training worked
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides what matters in a lesson.
# Users who want it back set TF_CPP_MIN_LOG_LEVEL=0 before importing gan_lab.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
