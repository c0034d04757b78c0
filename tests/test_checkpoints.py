"""Checkpoints: written whole or not at all, the newest kept, and read back only into the
models they were written for."""

import json

import keras
import pytest
import tensorflow as tf

from gan_lab import checkpoints, errors, models


def objects(width=4):
    keras.utils.set_random_seed(0)
    g = models.build_dcgan_generator(latent_dim=8, width=width)
    opt = keras.optimizers.Adam(1e-3)
    opt.build(g.trainable_variables)
    return {"step": tf.Variable(0, dtype=tf.int64), "generator": g, "g_optimizer": opt}


def names(run):
    return [c.split("/")[-2] for c in checkpoints.find(run)]


def test_write_keeps_the_newest_and_find_lists_them_oldest_first(tmp_path):
    parts = objects()
    for step in (1, 2, 3, 4):
        parts["step"].assign(step)
        path = checkpoints.write(parts, tmp_path, step, {"step": [step]}, max_to_keep=2)
    assert names(tmp_path) == ["step_000003", "step_000004"]
    assert checkpoints.latest(tmp_path) == path and path.endswith("step_000004/ckpt")
    assert json.loads((tmp_path / "history.json").read_text()) == {"step": [4]}
    assert checkpoints.write(parts, tmp_path, 4, {}, max_to_keep=2) == path  # written once


def test_an_interrupted_save_is_never_listed_and_is_cleaned_up(tmp_path):
    parts = objects()
    checkpoints.write(parts, tmp_path, 1, {}, max_to_keep=3)
    torn = tmp_path / "checkpoints" / ".partial-step_000002"
    torn.mkdir()
    (torn / "ckpt.index").write_bytes(b"half")
    assert names(tmp_path) == ["step_000001"]
    checkpoints.write(parts, tmp_path, 2, {}, max_to_keep=3)
    assert names(tmp_path) == ["step_000001", "step_000002"] and not torn.exists()


def test_read_restores_the_values(tmp_path):
    parts = objects()
    parts["step"].assign(7)
    path = checkpoints.write(parts, tmp_path, 7, {}, max_to_keep=3)
    other = objects()
    other["generator"].set_weights([w * 0 for w in other["generator"].get_weights()])
    checkpoints.read(other, path)
    assert int(other["step"]) == 7
    for a, b in zip(parts["generator"].get_weights(), other["generator"].get_weights()):
        assert (a == b).all()


def test_a_checkpoint_of_another_architecture_is_refused_and_kept(tmp_path):
    path = checkpoints.write(objects(4), tmp_path, 0, {}, max_to_keep=3)
    saved = sorted(p.name for p in (tmp_path / "checkpoints").rglob("*"))
    with pytest.raises(errors.RunError, match="does not match the models and optimizers given"):
        checkpoints.read(objects(8), path)  # twice as wide
    assert sorted(p.name for p in (tmp_path / "checkpoints").rglob("*")) == saved


def test_a_damaged_checkpoint_is_named(tmp_path):
    path = checkpoints.write(objects(), tmp_path, 0, {}, max_to_keep=3)
    (data,) = (tmp_path / "checkpoints" / "step_000000").glob("ckpt.data-*")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(errors.RunError, match="damaged or incomplete"):
        checkpoints.read(objects(), path)


def test_read_history_keeps_the_entries_up_to_the_checkpoint(tmp_path):
    history = {"step": [1, 2, 3], "g_loss": [0.5, 0.4, 0.3]}
    checkpoints.write(objects(), tmp_path, 3, history, max_to_keep=3)
    assert checkpoints.read_history(tmp_path, 2) == {"step": [1, 2], "g_loss": [0.5, 0.4]}
    assert checkpoints.read_history(tmp_path / "elsewhere", 2) == {}
