"""The reference runs' definitions and the committed folders the lessons show."""

import json

import pytest

from gan_lab import recipes, reference

FILES = {"figure.png", "progress.gif", "result.json"}


@pytest.mark.parametrize("name", list(reference.REFERENCES))
def test_every_reference_is_a_valid_full_mode_setting(name):
    config = reference.settings(name, data_dir="/nowhere")
    lesson, model, changes, why = reference.REFERENCES[name]
    assert config["model"] == model and not config["quick"]
    assert {k: config[k] for k in changes} == changes
    assert recipes.defaults(model, False, **changes) == {**config, "data_dir": None}
    assert why and lesson in (2, 3, 4)


def test_committed_folders_are_small_and_hold_no_data():
    folders = [f for f in reference.FOLDER.glob("*") if f.is_dir()]
    total = 0
    for folder in folders:
        assert folder.name in reference.REFERENCES, folder
        files = {f.name for f in folder.iterdir()}
        assert files <= FILES and "result.json" in files, (folder, files)
        for f in folder.iterdir():
            assert f.stat().st_size <= reference.MAX_FILE_BYTES, f
            total += f.stat().st_size
        record = json.loads((folder / "result.json").read_text())
        assert record["name"] == folder.name
        assert record["command"].startswith("make reference DATA_DIR=")
        assert record["metric"] and record["verdict"] and record["machine"]
        assert record["training_seconds"] > 0
        assert not record["settings"]["quick"]
    assert total <= 3_000_000


def test_show_prints_what_the_reference_is(tmp_path, monkeypatch, capsys):
    from PIL import Image

    folder = tmp_path / "pix2pix"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "figure.png")
    record = {
        "title": "Pix2Pix on CMP facades",
        "steps": 2000,
        "training_seconds": 5400,
        "machine": "2 CPU cores",
        "precision": "float32",
        "commit": "abc1234",
        "budget": "2,000 steps",
        "verdict": "Training worked.",
        "metric": {"confident_share_generated": 0.8},
        "command": "make reference DATA_DIR=<folder>",
    }
    monkeypatch.setattr(reference, "FOLDER", tmp_path)

    def shown(**changes):  # what show prints for the record with these changes
        (folder / "result.json").write_text(json.dumps({**record, **changes}))
        assert reference.show("pix2pix") == {**record, **changes}
        return capsys.readouterr().out

    out = shown()
    assert (
        "Reference run (not yours)" in out and "1.5 h to train" in out and record["command"] in out
    )
    assert "trained at commit abc1234." in out and "FID/KID" not in out  # lesson 2: none
    missing = {"fid": None, "kid": None, "inception_missing": "no weights"}
    assert "FID/KID: not computed" in shown(metric=missing)
    scores = {"fid": 119.1, "kid": 0.0123, "kid_subset_size": 50}
    assert "FID/KID: fid 119.1, kid 0.0123." in shown(metric=scores)
    trained_twice = [{"commit": "0123abc"}, {"commit": "abc1234"}]
    assert "trained at commit 0123abc, abc1234." in shown(trained_by=trained_twice)
    trained_before = [{"commit": "0123abc"}]
    assert "trained at commit 0123abc, measured at abc1234." in shown(trained_by=trained_before)


@pytest.mark.parametrize("names", [["dcgan"], ["cdcgan"], ["pix2pix", "pix2pix_l1"], ["cyclegan"]])
def test_every_figure_draws_from_runs_like_the_references(names):
    # Quick-mode networks and synthetic data stand in for the trained runs: the figures'
    # code (sizes, layout) is what is under test, not their content.
    done = {}
    for name in names:
        _, model, changes, _ = reference.REFERENCES[name]
        kept = {k: v for k, v in changes.items() if k in ("conditional", "lambda_gan")}
        config = recipes.defaults(model, True, **kept)
        done[name] = {"config": config, "generators": recipes.build(config).generators}
    figure = reference.FIGURES[names[0]](names[0], done)
    # (rows, columns, pixels a cell) as each figure's docstring lays it out, 2 px borders
    rows, columns, cell = {
        "dcgan": (8, 8, 2 * 28),
        "cdcgan": (10, 8, 2 * 28),  # a row per digit
        "pix2pix": (6, 4, 64),  # label map | L1 only | pix2pix | photo
        "cyclegan": (4, 8, 32),  # apples, G(apples), oranges, F(oranges)
    }[names[0]]
    assert figure.dtype == "uint8"
    assert figure.shape == (rows * cell + 2 * (rows + 1), columns * cell + 2 * (columns + 1), 3)


def test_a_figure_over_the_size_limit_is_saved_with_a_palette(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    reference._save_png(Image.fromarray(noise), tmp_path / "full.png")
    full = (tmp_path / "full.png").stat().st_size
    monkeypatch.setattr(reference, "MAX_FILE_BYTES", full // 2)
    reference._save_png(Image.fromarray(noise), tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size <= full // 2
    with Image.open(tmp_path / "figure.png") as saved:
        assert saved.mode == "P" and saved.size == (200, 200)


def test_a_missing_dataset_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    from gan_lab import errors

    def missing(name, data_dir, output_root):
        raise errors.DatasetNotFoundError(f"no MNIST in {data_dir}/mnist: place mnist.npz there")

    monkeypatch.setattr(reference, "train_one", missing)
    monkeypatch.setattr(reference, "FOLDER", tmp_path / "reference")
    (tmp_path / "reference" / "dcgan").mkdir(parents=True)
    (tmp_path / "reference" / "dcgan" / "result.json").write_text("{}")
    assert reference.main(["--data-dir", str(tmp_path), "dcgan"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"gan_lab reference dcgan: error: no MNIST in {tmp_path}/mnist: place mnist.npz there"
    )
    assert (tmp_path / "reference" / "dcgan" / "result.json").read_text() == "{}"  # kept


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def bug(name, data_dir, output_root):
        raise KeyError("a bug, not bad input")

    monkeypatch.setattr(reference, "train_one", bug)
    with pytest.raises(KeyError):
        reference.main(["--data-dir", str(tmp_path), "dcgan"])
