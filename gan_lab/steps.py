"""Train steps: one function per kind of GAN, for ``training.Trainer``.

A ``make_*_step`` returns a plain Python function ``step(batch) -> dict of scalar
losses``; the Trainer compiles it with ``tf.function``. Steps read the batch size from
the batch (never from a global) and pass ``training=True`` explicitly.

The same role has the same log key in every step: ``d_loss`` (the discriminator's or
critic's objective), ``g_loss`` (the generator's), parts prefixed ``g_``/``d_`` (e.g.
``g_l1``, ``g_cycle``, ``d_gp``), ``d_real``/``d_fake`` (D's mean probability for real and
generated samples) and ``w_estimate`` (WGAN-GP's critic gap).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_lab import losses, runtime


def _for_gradients(loss, optimizer):
    """The loss to differentiate (call it inside the tape).

    Under a ``tf.distribute`` strategy each replica holds its share of the global batch
    and the optimizer sums the replicas' gradients, so each replica's mean is divided by
    the number of replicas: the sum is then the gradient of the global-batch mean. Under
    ``mixed_float16`` the optimizer (a ``LossScaleOptimizer``) also scales the loss up so
    small float16 gradients do not underflow; it unscales them before applying.
    """
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    return optimizer.scale_loss(loss / replicas)


def _build(*pairs) -> None:
    """Create each optimizer's slots for its model now, not lazily inside the compiled step:
    under a distribution strategy (and when restoring a checkpoint) they must exist first.
    Call the ``make_*_step`` functions inside ``strategy.scope()`` when using one."""
    for optimizer, model in pairs:
        if not optimizer.built:
            optimizer.build(model.trainable_variables)


def _apply(tape, scaled_loss, model, optimizer):
    grads = tape.gradient(scaled_loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


def _gan_logs(d_loss, g_loss, real_logits, fake_logits) -> dict:
    """The losses and D's mean verdicts (probability "real") on real and generated samples."""
    return {
        "d_loss": d_loss,
        "g_loss": g_loss,
        "d_real": tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
        "d_fake": tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
    }


def make_gan_step(
    generator: keras.Model,
    discriminator: keras.Model,
    g_optimizer: keras.optimizers.Optimizer,
    d_optimizer: keras.optimizers.Optimizer,
    label_smoothing: float = 0.0,
    seed: int | None = None,
) -> Callable[[tf.Tensor], dict]:
    """The unconditional GAN step (DCGAN, toy GANs): update D and G from one real batch.

    Both networks see the same generated batch; each tape differentiates its own loss
    with respect to its own network's variables only. That is all "freezing D while
    training G" means here.

    Args:
        generator: maps noise (batch, latent_dim) to samples.
        discriminator: maps samples to logits (batch, 1).
        g_optimizer, d_optimizer: one optimizer per network.
        label_smoothing: one-sided label smoothing for D's real targets (default 0).
        seed: seed of the step's noise generator (default: split off the global one).

    Returns:
        ``step(real) -> {"d_loss", "g_loss", "d_real", "d_fake"}`` (the batch may also be
        a ``(real, noise)`` pair to fix the noise), where ``d_real`` and
        ``d_fake`` are the mean probabilities D assigns to real and generated samples.
        With conditional networks (``models.build_dcgan_*(num_classes=...)``: a second
        input, the one-hot label), the batch is ``(real, noise, labels)`` or ``(real,
        labels)`` with integer labels (batch,): G draws each fake for its real image's
        label, and D judges real and fake images with that label (Mirza and Osindero,
        "Conditional Generative Adversarial Nets", 2014).
    """
    conditional = len(generator.inputs) == 2
    latent_dim = generator.inputs[0].shape[-1]
    num_classes = generator.inputs[1].shape[-1] if conditional else 0
    _build((g_optimizer, generator), (d_optimizer, discriminator))
    rng = runtime.random_generator(seed)  # saved in checkpoints via step.trackables

    def step(batch):
        batch = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
        if conditional:  # (real, [noise,] labels)
            batch, labels = batch[:-1], tf.one_hot(batch[-1], num_classes)
        if len(batch) == 2:  # (real, noise): noise given, e.g. for tests
            real, noise = batch
        else:
            (real,) = batch
            noise = rng.normal([tf.shape(real)[0], latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            if conditional:
                fake = generator([noise, labels], training=True)
                real_logits = discriminator([real, labels], training=True)
                fake_logits = discriminator([fake, labels], training=True)
            else:
                fake = generator(noise, training=True)
                real_logits = discriminator(real, training=True)
                fake_logits = discriminator(fake, training=True)
            g_loss = losses.generator_loss(fake_logits)
            d_loss = losses.discriminator_loss(real_logits, fake_logits, label_smoothing)
            g_scaled = _for_gradients(g_loss, g_optimizer)
            d_scaled = _for_gradients(d_loss, d_optimizer)
        _apply(g_tape, g_scaled, generator, g_optimizer)
        _apply(d_tape, d_scaled, discriminator, d_optimizer)
        return _gan_logs(d_loss, g_loss, real_logits, fake_logits)

    step.trackables = {"noise_rng": rng}
    return step


def make_alternating_gan_step(
    generator: keras.Model,
    discriminator: keras.Model,
    g_optimizer: keras.optimizers.Optimizer,
    d_optimizer: keras.optimizers.Optimizer,
    d_steps: int = 1,
    label_smoothing: float = 0.0,
    gp_weight: float = 0.0,
    seed: int | None = None,
) -> Callable[[tf.Tensor], dict]:
    """The GAN step of Goodfellow et al.'s Algorithm 1: ``d_steps`` D updates, then one G
    update against the *updated* D, on fresh noise.

    ``make_gan_step`` instead computes both updates from one forward pass (one batch of
    fakes, D's weights before its update for both gradients): cheaper, and the TF DCGAN
    tutorial's form. Here G's gradient sees the D that has just learned from this batch,
    at the cost of a second generator pass and a second D pass on fakes. Each D update
    gets its own real batch and fresh noise, as in the paper: with ``d_steps`` > 1 the
    step's batch holds the ``d_steps`` real batches stacked on axis 1, (batch, d_steps,
    ...) (``data.toy_dataset(..., batches_per_step=d_steps)``), as ``make_wgan_gp_step``
    takes them.

    Args:
        generator, discriminator, g_optimizer, d_optimizer: as ``make_gan_step``.
        d_steps: D updates per G update, the paper's k (default 1).
        label_smoothing: one-sided label smoothing for D's real targets (default 0).
        gp_weight: weight of a gradient penalty on D's logit, WGAN-GP's
            ``losses.gradient_penalty`` added to D's loss (default 0: none; Fedus et al.,
            "Many Paths to Equilibrium", 2018, add it to the non-saturating GAN).
        seed: seed of the step's noise generator (default: split off the global one).

    Returns:
        ``step(real) -> {"d_loss", "g_loss", "d_real", "d_fake"}``, ``real`` (batch, ...)
        or, with ``d_steps`` > 1, (batch, d_steps, ...) (the batch may also be
        ``(real, d_noise, g_noise)`` to fix the noise: ``d_noise`` for every D update,
        ``g_noise`` for the G update), where ``d_real`` and ``d_fake`` are the mean
        probabilities the last D update's D (before it) assigned to real and generated
        samples, and ``g_loss`` is computed with the updated D.

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", 2014, Algorithm 1 (k = 1 in
        their experiments; the non-saturating G loss of their Section 3 is used here).
    """
    if not isinstance(d_steps, int) or d_steps < 1:
        raise ValueError(f"d_steps must be a positive integer. Received: d_steps={d_steps!r}")
    latent_dim = generator.input_shape[-1]
    _build((g_optimizer, generator), (d_optimizer, discriminator))
    rng = runtime.random_generator(seed)  # saved in checkpoints via step.trackables

    def step(batch):
        if isinstance(batch, (tuple, list)):  # (real, d_noise, g_noise), e.g. for tests
            real, d_noise, g_noise = batch
        else:
            real, d_noise, g_noise = batch, None, None
        shape = real.shape
        if d_steps == 1:
            reals = [real]
        elif shape.rank is not None and (shape.rank < 3 or shape[1] not in (None, d_steps)):
            raise ValueError(
                f"This step takes {d_steps} real batches a step, stacked as (batch, "
                f"d_steps={d_steps}, ...). Received: shape {shape}"
            )
        else:
            reals = [real[:, k] for k in range(d_steps)]
        size = tf.shape(reals[0])[0]
        for real_k in reals:  # 1. D's move(s), each on its own real batch, unrolled
            noise = rng.normal([size, latent_dim]) if d_noise is None else d_noise
            fake = generator(noise, training=True)
            with tf.GradientTape() as tape:
                real_logits = discriminator(real_k, training=True)
                fake_logits = discriminator(fake, training=True)
                d_loss = losses.discriminator_loss(real_logits, fake_logits, label_smoothing)
                if gp_weight:
                    penalty = losses.gradient_penalty(discriminator, real_k, fake, rng=rng)
                    d_loss += gp_weight * penalty
                d_scaled = _for_gradients(d_loss, d_optimizer)
            _apply(tape, d_scaled, discriminator, d_optimizer)
        noise = rng.normal([size, latent_dim]) if g_noise is None else g_noise
        with tf.GradientTape() as tape:  # 2. G's move, against the D just updated
            fake = generator(noise, training=True)
            g_loss = losses.generator_loss(discriminator(fake, training=True))
            g_scaled = _for_gradients(g_loss, g_optimizer)
        _apply(tape, g_scaled, generator, g_optimizer)
        return _gan_logs(d_loss, g_loss, real_logits, fake_logits)

    step.trackables = {"noise_rng": rng}
    return step


def make_wgan_gp_step(
    generator: keras.Model,
    critic: keras.Model,
    g_optimizer: keras.optimizers.Optimizer,
    c_optimizer: keras.optimizers.Optimizer,
    *,
    gp_weight: float,
    n_critic: int,
    seed: int | None = None,
) -> Callable[[tf.Tensor], dict]:
    """The WGAN-GP step: ``n_critic`` critic updates, each on its own real batch, then one
    generator update against the updated critic.

    The Wasserstein-1 distance is the supremum of E[f(x)] - E[f(G(z))] over all
    1-Lipschitz critics f; the gradient penalty pushes the critic towards 1-Lipschitz, so
    its gap is (up to how well it is trained and how Lipschitz it really is) a lower
    bound of that distance, not the distance itself. Every critic update draws fresh
    noise and fresh interpolation points and uses a real batch no other update of the
    step sees, as Algorithm 1 of the paper does.

    Args:
        generator: maps noise (batch, latent_dim) to samples.
        critic: maps samples to scores (batch, 1), no sigmoid.
        g_optimizer, c_optimizer: one optimizer per network (the paper: Adam with
            learning rate 1e-4, beta_1 0, beta_2 0.9).
        gp_weight: weight lambda of the gradient penalty (the paper: 10).
        n_critic: critic updates per generator update (the paper: 5).
        seed: seed of the step's noise generator (default: split off the global one).

    Returns:
        ``step(real) -> {"d_loss", "g_loss", "d_gp", "w_estimate"}``, where ``real`` holds
        the step's ``n_critic`` real batches stacked on axis 1, (batch, n_critic, ...),
        ``real[:, k]`` being critic update k's batch (``data.toy_dataset(...,
        batches_per_step=n_critic)``; batch axis first, so a ``tf.distribute`` strategy
        splits it like any other batch); with ``n_critic=1``, one batch (batch, ...).
        ``d_loss`` (the critic's objective with its penalty), ``d_gp`` (the penalty before
        weighting) and ``w_estimate`` (E[f(x)] - E[f(G(z))]) belong to the last critic
        update: one critic, the one before that update, on that update's real and
        generated batches (the authors' ``gan_toy.py`` logs its critic cost the same
        way). ``g_loss`` is computed with the critic after all its updates.

    Raises:
        ValueError: ``n_critic`` is not a positive integer, or ``real`` does not hold
            ``n_critic`` batches.

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", 2017, Algorithm 1
        (lambda 10, n_critic 5, Adam(1e-4, beta_1=0, beta_2=0.9), a new real batch, noise
        and interpolation points for every critic update). The authors' toy script
        ``gan_toy.py`` (igul222/improved_wgan_training) also draws a new real batch for
        each critic iteration; it uses beta_1 0.5 and lambda 0.1.
    """
    if not isinstance(n_critic, int) or n_critic < 1:
        raise ValueError(f"n_critic must be a positive integer. Received: n_critic={n_critic!r}")
    latent_dim = generator.input_shape[-1]
    _build((g_optimizer, generator), (c_optimizer, critic))
    rng = runtime.random_generator(seed)  # saved in checkpoints via step.trackables

    def step(real):
        shape = real.shape
        if n_critic == 1:
            batches = [real]
        elif shape.rank is not None and (shape.rank < 3 or shape[1] not in (None, n_critic)):
            raise ValueError(
                f"The WGAN-GP step takes {n_critic} real batches a step, stacked as (batch, "
                f"n_critic={n_critic}, ...). Received: shape {shape}"
            )
        else:
            batches = [real[:, k] for k in range(n_critic)]
        size = tf.shape(batches[0])[0]
        for real_k in batches:  # one critic update per real batch, unrolled at trace time
            fake = generator(rng.normal([size, latent_dim]), training=True)
            with tf.GradientTape() as tape:
                real_scores = tf.cast(critic(real_k, training=True), tf.float32)
                fake_scores = tf.cast(critic(fake, training=True), tf.float32)
                gp = losses.gradient_penalty(critic, real_k, fake, rng=rng)
                d_loss = losses.wasserstein_critic_loss(real_scores, fake_scores) + gp_weight * gp
                d_scaled = _for_gradients(d_loss, c_optimizer)
            _apply(tape, d_scaled, critic, c_optimizer)
        with tf.GradientTape() as tape:
            fake = generator(rng.normal([size, latent_dim]), training=True)
            g_loss = losses.wasserstein_generator_loss(critic(fake, training=True))
            g_scaled = _for_gradients(g_loss, g_optimizer)
        _apply(tape, g_scaled, generator, g_optimizer)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_gp": gp,
            "w_estimate": tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores),
        }

    step.trackables = {"noise_rng": rng}
    return step


def make_pix2pix_step(
    generator: keras.Model,
    discriminator: keras.Model,
    g_optimizer: keras.optimizers.Optimizer,
    d_optimizer: keras.optimizers.Optimizer,
    *,
    l1_weight: float,
    gan_weight: float,
) -> Callable[[tuple], dict]:
    """The pix2pix step: a conditional GAN plus L1, from one (input, target) batch.

    D judges (input, target) pairs as real and (input, G(input)) pairs as fake, so it
    learns whether the output fits its input, patch by patch. With ``gan_weight=0`` the
    step is the paper's L1-only ablation and D is neither used nor updated.

    Args:
        generator: maps input images to output images.
        discriminator: maps ``[input, image]`` pairs to patch logits.
        g_optimizer, d_optimizer: one optimizer per network.
        l1_weight: weight lambda of the L1 term (the paper: 100).
        gan_weight: weight of the adversarial term (the paper: 1; 0 for L1 only).

    Returns:
        ``step((input, target)) -> {"g_loss", "g_adv", "g_l1", "d_loss"}``: G's total
        objective, its adversarial and (unweighted) L1 parts, and D's loss (0 without D).

    Reference:
        Isola et al. 2017; TF tutorial "pix2pix" (lambda 100, Adam with learning rate
        0.0002 and beta_1 0.5).
    """
    adversarial = bool(gan_weight)
    _build((g_optimizer, generator), *([(d_optimizer, discriminator)] if adversarial else []))

    def step(batch):
        input_image, target = batch
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = generator(input_image, training=True)
            if adversarial:
                real_logits = discriminator([input_image, target], training=True)
                fake_logits = discriminator([input_image, generated], training=True)
            else:
                fake_logits = None
            total, gan, l1 = losses.pix2pix_generator_loss(
                fake_logits, generated, target, l1_weight, gan_weight
            )
            disc = (
                losses.discriminator_loss(real_logits, fake_logits)
                if adversarial
                else tf.constant(0.0)
            )
            g_scaled = _for_gradients(total, g_optimizer)
            d_scaled = _for_gradients(disc, d_optimizer)
        _apply(g_tape, g_scaled, generator, g_optimizer)
        if adversarial:
            _apply(d_tape, d_scaled, discriminator, d_optimizer)
        return {"g_loss": total, "g_adv": gan, "g_l1": l1, "d_loss": disc}

    return step


def make_cyclegan_step(
    g: keras.Model,
    f: keras.Model,
    d_x: keras.Model,
    d_y: keras.Model,
    optimizers: dict,
    pool_x=None,
    pool_y=None,
    *,
    lambda_cycle: float,
    lambda_identity: float,
    adversarial: str,
) -> Callable[[tuple], dict]:
    """The CycleGAN step: update G, F, D_X and D_Y from one unpaired (x, y) batch.

    Paper names to code: G: X -> Y (``g``), F: Y -> X (``f``), D_Y judges real y against
    G(x) (``d_y``), D_X judges real x against F(y) (``d_x``). junyanz's
    ``cycle_gan_model.py`` calls them ``netG_A`` (G), ``netG_B`` (F), ``netD_A`` (D_Y:
    ``real_B`` against pooled ``fake_B = netG_A(real_A)``) and ``netD_B`` (D_X).

    Losses: adversarial for G (via D_Y) and F (via D_X); cycle consistency
    ``||F(G(x)) - x||_1 + ||G(F(y)) - y||_1`` weighted ``lambda_cycle``; identity
    ``||G(y) - y||_1`` (and ``||F(x) - x||_1``) weighted ``lambda_identity * lambda_cycle``;
    each discriminator's loss halved (the paper, appendix 7.1: "we divide the objective by
    2 while optimizing D") and computed on fakes drawn from its image pool. Under Adam the
    halving changes D's updates only through Adam's epsilon (the update is invariant to a
    constant factor on the loss): it halves the D losses reported, not D's pace.

    All four updates come from one forward pass. That equals junyanz's
    ``optimize_parameters`` (G_A and G_B first, then D_A and D_B on the fakes of the same
    forward pass, detached): D's weights are unchanged by G's update, and G's update used
    D before D's. One Adam per network equals junyanz's one Adam over both generators (and
    one over both discriminators), since Adam works weight by weight.

    Args:
        g, f, d_x, d_y: the four networks.
        optimizers: ``{"g": ..., "f": ..., "d_x": ..., "d_y": ...}``, one per network.
        pool_x, pool_y: ``image_pool.ImagePool`` of past F(y) and G(x), or None.
        lambda_cycle: weight of the cycle loss (the paper: 10).
        lambda_identity: identity weight as a fraction of ``lambda_cycle`` (the paper: 0.5).
        adversarial: "lsgan" (the paper) or "bce".

    Returns:
        ``step((x, y)) -> {"g_loss", "d_loss", "g_adv", "g_cycle", "g_identity", "d_x",
        "d_y"}``: ``g_loss`` is the generators' joint objective (junyanz's ``loss_G``:
        both adversarial terms, the weighted cycle and identity terms), ``d_loss`` =
        D_X's + D_Y's loss; the parts are unweighted sums over both directions.
    """
    if adversarial not in losses.ADVERSARIAL_LOSSES:
        raise ValueError(
            f"adversarial must be one of {sorted(losses.ADVERSARIAL_LOSSES)}. "
            f"Received: adversarial={adversarial!r}"
        )
    if set(optimizers) != {"g", "f", "d_x", "d_y"}:
        raise ValueError(f"optimizers needs keys g, f, d_x, d_y. Received: {sorted(optimizers)}")
    gen_loss, disc_loss = losses.ADVERSARIAL_LOSSES[adversarial]
    pool_x = pool_x or (lambda images: images)
    pool_y = pool_y or (lambda images: images)
    w_identity = lambda_identity * lambda_cycle
    _build(*[(optimizers[k], m) for k, m in [("g", g), ("f", f), ("d_x", d_x), ("d_y", d_y)]])

    def step(batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y, fake_x = g(real_x, training=True), f(real_y, training=True)
            cycled_x, cycled_y = f(fake_y, training=True), g(fake_x, training=True)
            cycle = losses.l1(real_x, cycled_x) + losses.l1(real_y, cycled_y)
            identity_g = losses.l1(real_y, g(real_y, training=True)) if w_identity else 0.0
            identity_f = losses.l1(real_x, f(real_x, training=True)) if w_identity else 0.0
            g_gan = gen_loss(d_y(fake_y, training=True))
            f_gan = gen_loss(d_x(fake_x, training=True))
            g_total = g_gan + lambda_cycle * cycle + w_identity * identity_g
            f_total = f_gan + lambda_cycle * cycle + w_identity * identity_f
            old_y, old_x = pool_y(tf.stop_gradient(fake_y)), pool_x(tf.stop_gradient(fake_x))
            d_y_loss = disc_loss(d_y(real_y, training=True), d_y(old_y, training=True))
            d_x_loss = disc_loss(d_x(real_x, training=True), d_x(old_x, training=True))
            scaled = {
                key: _for_gradients(loss, optimizers[key])
                for key, loss in [
                    ("g", g_total),
                    ("f", f_total),
                    ("d_x", d_x_loss),
                    ("d_y", d_y_loss),
                ]
            }
        for key, model in [("g", g), ("f", f), ("d_x", d_x), ("d_y", d_y)]:
            _apply(tape, scaled[key], model, optimizers[key])
        identity = identity_g + identity_f
        return {
            "g_loss": g_gan + f_gan + lambda_cycle * cycle + w_identity * identity,
            "d_loss": d_x_loss + d_y_loss,
            "g_adv": g_gan + f_gan,
            "g_cycle": cycle,
            "g_identity": identity,
            "d_x": d_x_loss,
            "d_y": d_y_loss,
        }

    return step
