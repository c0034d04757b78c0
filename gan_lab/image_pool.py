"""The image pool of CycleGAN: the discriminator sees a history of generated images.

The idea and its 50-image buffer come from Shrivastava et al. 2017 and CycleGAN's code
(junyanz ``util/image_pool.py``); this one is a ``tf.Module`` whose buffer is saved in
checkpoints and which serves a global batch the same way under ``tf.distribute``.
"""

from __future__ import annotations

import tensorflow as tf


class ImagePool(tf.Module):
    """A buffer of past generated images, shown to the discriminator instead of the newest.

    Until the pool is full, each query stores the image and returns it. Then, for each
    image, with probability 1/2 a random stored image is returned and replaced by the new
    one, otherwise the new image is returned. The discriminator thus sees a history of
    the generator, which damps oscillation. The buffer is a variable, so it is saved in
    checkpoints and a resumed run continues with the same pool.

    Under a ``tf.distribute`` strategy with several replicas the pool serves the global
    batch, as on one device: every replica gathers all replicas' images (``all_gather``),
    runs the same queries on the same buffer with the same random draws (stateless, keyed
    by the pool's seed and its query count), keeps identical copies of the buffer and
    returns its own rows. The run then does not depend on how the batch is split, and the
    checkpointed pool is the one pool of the run.

    Args:
        image_shape: (height, width, channels) of the images.
        size: images kept (CycleGAN: 50; 0 disables the pool).
        seed: seed of the pool's random draws (default: drawn from TensorFlow's global
            generator, which ``runtime.seed_everything`` seeds); saved in checkpoints.

    Reference:
        Shrivastava et al., "Learning from Simulated and Unsupervised Images", 2017;
        Zhu et al. 2017.
    """

    def __init__(self, image_shape, size: int, seed: int | None = None, name: str | None = None):
        super().__init__(name=name)
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative integer. Received: size={size!r}")
        if seed is None:
            seed = int(tf.random.get_global_generator().uniform([], 0, 2**31 - 1, tf.int64))
        self.size = size
        same = {"trainable": False, "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA}
        self.images = tf.Variable(tf.zeros([max(size, 1), *image_shape]), **same)
        self.count = tf.Variable(0, dtype=tf.int32, **same)
        self.queries = tf.Variable(0, dtype=tf.int64, **same)  # images seen: the draws' key
        self.seed = tf.Variable(seed, dtype=tf.int64, **same)

    def __call__(self, images):
        images = tf.cast(images, self.images.dtype)
        if self.size == 0:
            return images
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        local = images
        if replicas > 1:  # the global batch, in replica order
            images = context.all_gather(local, axis=0)
        buffer, count = tf.identity(self.images), tf.identity(self.count)
        base = tf.stack([self.seed, tf.constant(0, tf.int64)])
        n = tf.shape(images)[0]
        result = tf.TensorArray(images.dtype, size=n)
        for i in tf.range(n):
            image = images[i]
            key = tf.random.experimental.stateless_fold_in(
                base, self.queries + tf.cast(i, tf.int64)
            )
            swap_seed, slot_seed = tf.unstack(tf.random.experimental.stateless_split(key, 2))
            swap = tf.random.stateless_uniform([], swap_seed) < 0.5
            slot = tf.random.stateless_uniform([], slot_seed, 0, self.size, dtype=tf.int32)
            if count < self.size:
                buffer = tf.tensor_scatter_nd_update(buffer, [[count]], image[None])
                count += 1
                result = result.write(i, image)
            elif swap:
                result = result.write(i, buffer[slot])
                buffer = tf.tensor_scatter_nd_update(buffer, [[slot]], image[None])
            else:
                result = result.write(i, image)
        self.images.assign(buffer)
        self.count.assign(count)
        self.queries.assign_add(tf.cast(n, tf.int64))
        out = tf.reshape(result.stack(), tf.shape(images))
        if replicas > 1:
            rows = tf.shape(local)[0]
            first = context.replica_id_in_sync_group * rows
            out = out[first : first + rows]
        return out
