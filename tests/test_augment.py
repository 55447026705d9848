"""``tinydagan augment`` and ``tinydagan sample``: the verdict, the split of a practitioner's
folder (classes of different sizes, image modes, classes too small, unreadable files), the
saved generator and its file checks, and the command end to end on a folder and on
CIFAR-10-format data."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinydagan import cli
from tinydagan.augment import OWN_NAMES, folder_split
from tinydagan.data import load_image_folder, to_float_nchw
from tinydagan.models import Generator
from tinydagan.report import VERDICTS, paired, verdict, verdict_sentence
from tinydagan.sample import GENERATOR_FILE, draw, load_generator, save_generator, write_images
from tinydagan.serialization import load_npz, save_npz
from tinydagan.training import TrainConfig, load_splits, prepare_data

from data_fixtures import isolated_cache, write_image_folder  # noqa: F401  (a pytest fixture)
from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)

# the settings of the other training tests: tiny networks, a few steps
TINY = ["--width", "0.125", "--batch-size", "8", "--steps", "3", "--steps-gan", "4",
        "--eval-every", "2", "--log-every", "2", "--checkpoint-every", "2", "--sample-every",
        "100", "--data-seeds", "0", "1"]


def one_line_error(capsys, command):
    err = capsys.readouterr().err
    assert err.startswith(f"tinydagan {command}: error: ") and err.count("\n") == 1, err
    return err


# ----- the verdict ----------------------------------------------------------------------
@pytest.mark.parametrize("gains, word", [
    ([2.0, 3.0, 2.5], "helped"),                        # interval above zero
    ([-2.0, -3.0, -2.5], "hurt"),                       # below zero
    ([2.0, -1.0, 3.0], "no measurable difference"),     # around zero
    ([1.0, 3.0], "no measurable difference"),           # mean +2 but t(1) = 12.7: wide
    ([0.0, 0.0], "no measurable difference"),           # an interval [0, 0] contains zero
    ([1.0, 1.0], "helped"),                             # the same gain twice: [1, 1]
])
def test_the_verdict_is_what_the_interval_says(gains, word):
    d = paired(gains)
    assert verdict(d) == word and word in VERDICTS
    sentence = verdict_sentence("DAGAN", "C", d)
    assert f"{d['low']:+.2f} to {d['high']:+.2f}" in sentence
    assert f"{len(gains)} data seeds" in sentence
    if word == "no measurable difference":
        assert sentence.startswith("No measurable difference:") and "contains zero" in sentence
    else:
        side = "above" if word == "helped" else "below"
        assert sentence.startswith(f"DAGAN {word}: its test accuracy was "
                                   f"{abs(d['mean']):.2f} points {side} C's")


def test_a_verdict_needs_two_data_seeds():
    with pytest.raises(ValueError, match="at least two data seeds; got 1"):
        verdict(paired([5.0]))


# ----- the practitioner's folder ----------------------------------------------------------
def write_sized_folder(root, sizes, seed=0):
    """root/<class>/img_k.png with ``sizes`` {class: number of images}."""
    rng = np.random.default_rng(seed)
    for name, n in sizes.items():
        write_image_folder(root, rng, classes=(name,), per_class=n, size=(20, 20))
    return root


def test_classes_of_different_sizes_train_on_balanced_subsets_and_say_so(tmp_path):
    root = write_sized_folder(tmp_path / "images", {"ant": 12, "bee": 7, "cat": 10})
    split = folder_split(root)
    assert split.test == (1, 1, 1)                        # 7 // 5: a fifth of the smallest
    assert split.pool == (11, 6, 9) and split.val_per_class == 1
    assert split.per_class == 5                           # all that 'bee' has left
    assert split.unused == (11 - 6) + (9 - 6)
    text = "\n".join(split.describe())
    assert "3 classes (ant 12, bee 7, cat 10 images)" in text
    assert "every run trains on 5 images of each class" in text and "'bee'" in text
    assert "8 images of larger classes are not trained on" in text
    smaller = folder_split(root, val_per_class=2, per_class=3)
    assert (smaller.val_per_class, smaller.per_class, smaller.unused) == (2, 3, 26 - 3 * 5)


def test_the_folder_test_split_is_fixed_and_validation_comes_from_the_rest(tmp_path,
                                                                          isolated_cache):
    root = write_sized_folder(tmp_path / "images", {"ant": 12, "bee": 7, "cat": 10})
    split = folder_split(root)
    cfg = TrainConfig(dataset="folder", data_root=str(root), per_class=split.per_class,
                      val_per_class=split.val_per_class)
    splits = load_splits(cfg)
    assert np.bincount(splits["test"].labels).tolist() == list(split.test)
    assert np.bincount(splits["train"].labels).tolist() == list(split.pool)
    test = {x.tobytes() for x in to_float_nchw(splits["test"].images)}
    seen = []
    for data_seed in (0, 1):
        data = prepare_data(cfg.replace(data_seed=data_seed), splits)
        np.testing.assert_array_equal(data.test_x, to_float_nchw(splits["test"].images))
        val, labelled = ({x.tobytes() for x in a} for a in (data.val_x, data.train_x))
        assert len(val) == 3 * split.val_per_class and len(labelled) == 3 * split.per_class
        assert not (val & test) and not (labelled & test) and not (val & labelled)
        seen.append(labelled)
    assert seen[0] != seen[1]                       # each data seed its own subset


@pytest.mark.parametrize("sizes, flags, message", [
    ({"ant": 5, "bee": 2}, [],
     "class 'bee' has 2 images: 1 held out for the test split and 1 for validation leave none "
     "to train on; every class needs at least 3 images (add images to it)"),
    ({"ant": 10, "bee": 10}, ["--val-per-class", "9"],
     "class 'ant' has 10 images: 2 held out for the test split and 9 for validation leave none "
     "to train on; every class needs at least 12 images (add images to it, or lower "
     "--val-per-class)"),
    ({"ant": 10, "bee": 10}, ["--labelled-per-class", "7"],
     "--labelled-per-class 7 + --val-per-class 2 = 9 images per class are needed, but class "
     "'ant' has 10 images: 2 held out for the test split and 8 are left for training"),
    ({"ant": 10, "bee": 10}, ["--data-seeds", "0"], "--data-seeds needs at least two different"),
    ({"ant": 10, "bee": 10}, ["--data-seeds", "0", "-1"], "--data-seeds must be >= 0, got -1"),
    ({"ant": 10, "bee": 10}, ["--per-class", "0"], "--per-class must be >= 1, got 0"),
    ({"ant": 10, "bee": 10}, ["--steps-gan", "0"], "--steps-gan must be >= 1, got 0"),
    ({"ant": 10, "bee": 10}, ["--labelled-per-class", "0"], "--labelled-per-class must be >= 1"),
    ({"ant": 10, "bee": 10}, ["--val-per-class", "-1"], "--val-per-class must be >= 0, got -1"),
    ({"ant": 10, "bee": 10}, ["--jobs", "0"], "--jobs must be >= 1, got 0"),
    ({"ant": 10, "bee": 10}, ["--width", "9"], "--width must be finite and in (0, 4.0]"),
])
def test_a_folder_too_small_is_refused_with_its_numbers_before_anything_is_written(
        tmp_path, capsys, isolated_cache, sizes, flags, message):
    root = write_sized_folder(tmp_path / "images", sizes)
    out = tmp_path / "out"
    assert cli.main(["augment", "--data", str(root), "--out", str(out), *TINY, *flags]) == 1
    assert message in one_line_error(capsys, "augment")
    assert not out.exists()


def _mode_images():
    """{file name: (PIL image, the RGB the loader must give at pixel (0, 0))}."""
    grey = np.full((8, 8), 77, np.uint8)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[...] = (200, 10, 20, 0)                       # transparent, colour kept underneath
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 30, 140, 250] + [0] * 762)
    sixteen = Image.fromarray(np.full((8, 8), 257 * 90, np.uint16))   # 16-bit grey
    return {"grey.png": (Image.fromarray(grey, "L"), (77, 77, 77)),
            "grey.jpg": (Image.fromarray(grey, "L"), (77, 77, 77)),
            "grey_alpha.png": (Image.fromarray(np.stack([grey, grey], -1), "LA"), (77, 77, 77)),
            "rgba.png": (Image.fromarray(rgba, "RGBA"), (200, 10, 20)),
            "palette.png": (palette, (30, 140, 250)),
            "bilevel.png": (Image.new("1", (8, 8), 1), (255, 255, 255)),
            "grey16.png": (sixteen, (90, 90, 90)),
            "cmyk.jpg": (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), (255, 0, 0))}


def test_grey_rgba_palette_bilevel_16_bit_and_cmyk_images_become_rgb(tmp_path, isolated_cache):
    images = _mode_images()
    (tmp_path / "modes" / "all").mkdir(parents=True)
    for name, (picture, _) in images.items():
        picture.save(tmp_path / "modes" / "all" / name)
    split = load_image_folder(tmp_path / "modes", size=4)
    assert split.images.shape == (len(images), 4, 4, 3) and split.images.dtype == np.uint8
    for pixels, name in zip(split.images, sorted(images)):     # files in sorted order
        expected = images[name][1]
        tolerance = 3 if name.endswith(".jpg") else 0           # JPEG is lossy
        assert np.abs(pixels.astype(int) - expected).max() <= tolerance, (name, pixels[0, 0])


def test_an_unreadable_image_is_named_and_a_missing_folder_is_one_line(tmp_path, capsys,
                                                                       isolated_cache):
    root = write_sized_folder(tmp_path / "images", {"ant": 10, "bee": 10})
    (root / "bee" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (root / "ant" / "notes.png").write_text("%!PS-Adobe-3.0 not an image")
    out = tmp_path / "out"
    assert cli.main(["augment", "--data", str(root), "--out", str(out), *TINY]) == 1
    err = one_line_error(capsys, "augment")
    assert str(root / "ant" / "notes.png") in err and "found PostScript" in err
    (root / "ant" / "notes.png").unlink()
    assert cli.main(["augment", "--data", str(root), "--out", str(out), *TINY]) == 1
    err = one_line_error(capsys, "augment")
    assert str(root / "bee" / "broken.png") in err and "PNG header is damaged" in err
    assert cli.main(["augment", "--data", str(tmp_path / "nothere"), *TINY]) == 1
    assert "image folder" in one_line_error(capsys, "augment") and not out.exists()


def test_an_out_inside_the_folder_and_a_class_named_like_an_output_are_refused(
        tmp_path, capsys, isolated_cache):
    root = write_sized_folder(tmp_path / "images", {"ant": 10, "bee": 10})
    for out in (root, root / "generated"):
        assert cli.main(["augment", "--data", str(root), "--out", str(out), *TINY]) == 1
        assert "is inside the image folder" in one_line_error(capsys, "augment")
    assert sorted(os.listdir(root)) == ["ant", "bee"]
    (root / "ant").rename(root / "runs")
    assert "runs" in OWN_NAMES
    assert cli.main(["augment", "--data", str(root), "--out", str(tmp_path / "o"), *TINY]) == 1
    assert "class folder 'runs'" in one_line_error(capsys, "augment")


def test_help_explains_the_command_and_the_report(capsys):
    with pytest.raises(SystemExit):
        cli.main(["augment", "--help"])
    text = capsys.readouterr().out
    for words in ("Does GAN augmentation help", "balanced", "DAGAN helped", "DAGAN hurt",
                  "no measurable difference", "CAS", "sample --model OUT", "report.md"):
        assert words in text, words


# ----- the saved generator --------------------------------------------------------------
CLASSES = ("ant", "bee", "cat")


@pytest.fixture
def generator_file(tmp_path):
    """A generator.npz of an untrained 3-class generator (no training needed to check the
    file) and the generator itself."""
    G = Generator(3, 16, 0.125, rng=np.random.default_rng(0))
    cfg = TrainConfig(width=0.125, method="DAGAN")
    return Path(save_generator(tmp_path / GENERATOR_FILE, G, cfg, CLASSES)), G


def test_a_saved_generator_draws_what_the_trained_one_draws(generator_file, tmp_path):
    path, G = generator_file
    saved = load_generator(path.parent)                  # the folder holding it is enough
    assert saved.classes == CLASSES and saved.image_size == 16 and not saved.G.training
    images, labels = draw(saved, 4, seed=3)
    assert images.shape == (12, 16, 16, 3) and images.dtype == np.uint8
    assert labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    G.eval()
    again, _ = draw(type(saved)(G, saved.settings, path), 4, seed=3)    # the original network
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, draw(saved, 4, seed=4)[0])       # another seed, others
    written = write_images(tmp_path / "drawn", images, labels, CLASSES, seed=3)
    assert written == {"ant": 4, "bee": 4, "cat": 4}
    png = Image.open(tmp_path / "drawn" / "bee" / "s3_00002.png")
    np.testing.assert_array_equal(np.asarray(png), images[6])
    write_images(tmp_path / "drawn", images[:6], labels[:6], CLASSES[:2], seed=9)  # another seed
    write_images(tmp_path / "drawn", images[:2], labels[:2], CLASSES[:1], seed=3)  # fewer: stale go
    assert sorted(os.listdir(tmp_path / "drawn" / "ant")) == [
        "s3_00000.png", "s3_00001.png", "s9_00000.png", "s9_00001.png", "s9_00002.png",
        "s9_00003.png"]


def _rewritten(path, change):
    arrays = load_npz(path)
    change(arrays)
    save_npz(path, arrays)


def _settings_change(key, value):
    def change(arrays):
        settings = json.loads(arrays["settings"].item())
        settings[key] = value
        arrays["settings"] = np.array(json.dumps(settings))
    return change


@pytest.mark.parametrize("damage, message", [
    ("missing", "does not exist"),
    ("not an npz", "is not a readable .npz array file"),
    ("a classifier's model.npz", "is not a generator file"),
    ("format 7", "was written in generator format 7; this version of tinydagan reads format 1"),
    ("settings not JSON", "has a 'settings' entry that is not JSON text"),
    ("no width", "has settings without a valid 'width' (a float expected, got None)"),
    ("width 1000", "has 'width' = 1000 in its settings (expected in (0, 4.0]"),
    ("unconditional", "has 'num_classes' = 0"),
    ("a class name with a path", "has the class name '../escape'"),
    ("two class names", "names 2 classes for a generator of 3"),
    ("weights of another width", "does not hold the weights its settings describe"),
    ("a weight missing", "does not hold the weights its settings describe (load_state_dict"),
    ("a NaN weight", "'fc.weight' is not an array of finite numbers"),
])
def test_a_bad_generator_file_is_one_clear_error(generator_file, tmp_path, capsys, damage,
                                                 message):
    path, _ = generator_file
    if damage == "missing":
        path.unlink()
    elif damage == "not an npz":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "a classifier's model.npz":
        save_npz(path, {"fc.weight": np.zeros((3, 2), np.float32)})
    else:
        _rewritten(path, {
            "format 7": lambda a: a.update(format=np.array(7)),
            "settings not JSON": lambda a: a.update(settings=np.array("{width")),
            "no width": _settings_change("width", None),
            "width 1000": _settings_change("width", 1000),
            "unconditional": _settings_change("num_classes", 0),
            "a class name with a path": _settings_change("classes", ["ant", "../escape", "cat"]),
            "two class names": _settings_change("classes", ["ant", "bee"]),
            "weights of another width": _settings_change("width", 0.25),
            "a weight missing": lambda a: a.pop("G/fc.bias"),
            "a NaN weight": lambda a: a["G/fc.weight"].__setitem__((0, 0), np.nan),
        }[damage])
    with pytest.raises(ValueError) as info:
        load_generator(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value), str(info.value)
    assert "expected the generator.npz that 'tinydagan augment'" in str(info.value)
    assert cli.main(["sample", "--model", str(path), "--out", str(tmp_path / "drawn")]) == 1
    assert message in one_line_error(capsys, "sample")
    assert not (tmp_path / "drawn").exists()


# ----- end to end -------------------------------------------------------------------------
def _png_bytes(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).glob("*/*.png"))
            if p.parent.name != "runs"}                     # OUT/<class>/*.png only


def _numbers(report):
    """A report without what differs between two sessions (times, the code version)."""
    runs = [{k: v for k, v in r.items() if k != "seconds"} for r in report["runs"]]
    return {**{k: v for k, v in report.items()
               if k not in ("runs", "seconds_this_session", "version")}, "runs": runs}


@pytest.mark.slow
def test_augment_a_folder_end_to_end_resumes_and_is_deterministic(tmp_path, capsys,
                                                                    isolated_cache):
    root = write_sized_folder(tmp_path / "images", {"ant": 12, "bee": 9, "cat": 10})
    Image.open(root / "ant" / "img_1.png").convert("L").save(root / "ant" / "img_1.png")
    Image.open(root / "bee" / "img_1.png").convert("RGBA").save(root / "bee" / "img_1.png")
    out = tmp_path / "out"
    command = ["augment", "--data", str(root), "--per-class", "3", "--out", str(out), *TINY]
    assert cli.main(command) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "every run trains on 7 images of each class" in printed            # said first
    assert "6 to train, about" in printed and "== run 4/4" in printed and "ETA" in printed

    report = json.loads((out / "report.json").read_text())
    (comparison,) = report["comparisons"]
    assert comparison["verdict"] in VERDICTS and len(comparison["per_seed"]) == 2
    gains = [r["DAGAN"] - r["C"] for r in comparison["per_seed"]]
    assert comparison["paired"] == paired(gains)
    markdown = (out / "report.md").read_text()
    assert comparison["sentence"] in markdown and "CAS" in markdown
    assert 0 <= report["cas"]["mean"] <= 100 and report["cas"]["per_class"] == 7
    assert report["settings"]["steps"] == {"C": 3, "DAGAN": 4}
    assert [r["method"] for r in report["runs"]] == ["C", "DAGAN", "C", "DAGAN", "CAS", "CAS"]
    for name in ("ant", "bee", "cat"):
        assert sorted(os.listdir(out / name)) == [f"s0_0000{i}.png" for i in range(3)]
    assert Image.open(out / "samples.png").size[0] > 0
    assert load_generator(out).classes == ("ant", "bee", "cat")
    assert (out / "runs" / "CAS_n7_data1_gen4" / "result.json").exists()

    # the same command again: nothing trains, the same report
    assert cli.main(command) == 0
    printed = capsys.readouterr().out
    assert printed.count("(finished earlier)") == 4 and "all finished earlier" in printed
    assert "== CAS" not in printed
    assert _numbers(json.loads((out / "report.json").read_text())) == _numbers(report)

    # 'sample' draws more from the saved generator; seed 0 gives augment's own images again
    assert cli.main(["sample", "--model", str(out), "--per-class", "4", "--out",
                     str(tmp_path / "more")]) == 0
    assert sorted(os.listdir(tmp_path / "more" / "cat")) == [f"s1_0000{i}.png" for i in range(4)]
    assert cli.main(["sample", "--model", str(out), "--per-class", "3", "--seed", "0", "--out",
                     str(tmp_path / "again")]) == 0
    assert _png_bytes(tmp_path / "again") == _png_bytes(out)

    # another folder, the same seeds: the same numbers and images
    other = tmp_path / "other"
    assert cli.main([*command[:-len(TINY) - 2], "--out", str(other), *TINY]) == 0
    assert _numbers(json.loads((other / "report.json").read_text())) == _numbers(report)
    assert _png_bytes(other) == _png_bytes(out)

    # more DAGAN steps: its runs resume and extend, C's are kept, the CAS of the new generators
    longer = [("6" if previous == "--steps-gan" else flag) for previous, flag in
              zip([None] + command, command)]
    assert cli.main(longer) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert printed.count("(finished earlier)") == 2 and printed.count("resuming from") == 2
    assert json.loads((out / "report.json").read_text())["settings"]["steps"]["DAGAN"] == 6
    assert (out / "runs" / "CAS_n7_data1_gen6" / "result.json").exists()


@pytest.mark.slow
def test_augment_cifar10_format_data_writes_the_dataset_classes(tiny_cifar, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("TINYDAGAN_DATA", str(tiny_cifar))
    out = tmp_path / "out"
    assert cli.main(["augment", "--data", "cifar10", "--per-class", "2", "--labelled-per-class",
                     "4", "--val-per-class", "2", "--with-aug", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "test split: the official test set (200 images)" in printed
    report = json.loads((out / "report.json").read_text())
    assert [(c["method"], c["baseline"]) for c in report["comparisons"]] == [
        ("DAGAN", "C"), ("DAGAN_aug", "C_aug")]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
         "runs"])
    assert len(os.listdir(out / "frog")) == 2
    assert "DAGAN_aug against C_aug" in (out / "report.md").read_text()


@pytest.mark.realdata
@pytest.mark.slow
def test_augment_dry_run_on_the_real_cifar10_prints_the_split_and_an_estimate(tmp_path, capsys):
    root = os.environ.get("TINYDAGAN_DATA", "")
    if not os.path.isdir(os.path.join(root, "cifar-10-batches-bin")):
        pytest.skip("real CIFAR-10 copy not available: TINYDAGAN_DATA not set")
    out = tmp_path / "out"
    assert cli.main(["augment", "--data", "cifar10", "--per-class", "20", "--steps", "300",
                     "--data-seeds", "0", "1", "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "test split: the official test set (10000 images)" in printed
    assert "balanced labelled subset of 50 per class" in printed
    assert "C 300, DAGAN 600 steps" in printed and "6 to train, about" in printed
    assert "nothing was trained" in printed and not out.exists()
