"""gan_lab: the helper package of a hands-on course on GANs in Keras 3 / TensorFlow.

Modules, one concept each:
    runtime      quick mode, seeding, precision, output and data folders, device report
    errors       gan_lab's exception types: whose fault a failure is
    data         datasets: real ones (downloaded, checksummed) and synthetic quick-mode ones
    models       Keras model builders (DCGAN, U-Net, PatchGAN, ResNet, MLPs)
    losses       GAN losses as pure functions
    steps        train steps, one per kind of GAN
    optim        Adam for the GAN steps and CycleGAN's learning-rate schedule
    image_pool   CycleGAN's pool of past generated images
    training     the one training loop every lesson uses (progress, history, frames)
    checkpoints  atomic checkpoints of a run: write, find, read
    distribute   scale-out with tf.distribute: strategies, workers, replicated steps
    recipes      each lesson's settings and how to build its experiment from them
    runs         a run folder: training an experiment with frames, GIF and summary
    judges       classifiers trained on real data to judge generated data
    metrics      scores: image scores, Frechet and kernel distances, mode coverage
    evaluation   each lesson's final numbers: the samples, the judge, the baseline to beat
    inception    InceptionV3 features for FID and KID
    viz          image grids, loss curves, GIFs
    cli          the ``gan-lab`` command
    reference    the lessons' reference runs on the real datasets (make reference)
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides what matters in a lesson.
# Users who want it back set TF_CPP_MIN_LOG_LEVEL=0 before importing gan_lab.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
