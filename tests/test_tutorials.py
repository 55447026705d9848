"""The tutorials run top to bottom and print what they teach.

Each runs as a subprocess, as a student would run it, in its fast mode
(TINYDAGAN_TUTORIAL_FAST=1: tiny step counts where it trains; 01-04 have nothing to
shorten). 01-05 need no data and run in seconds (also with NUMBA_DISABLE_JIT=1); 07 and 08
train small networks on a synthetic folder they write themselves (slow); 06 needs the real
CIFAR-10 copy (realdata, slow). A last test checks the shape every lesson shares.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
FAST = {"TINYDAGAN_TUTORIAL_FAST": "1"}
SCRIPTS = sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.py"))


def run_tutorial(name, *args, env=None, timeout=600):
    result = subprocess.run([sys.executable, str(TUTORIALS / name), *args], capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("name, expected, pictures", [
    ("01_autograd.py", [
        "b.dtype = float32 (a list of floats: float32, the training dtype)",
        "d.dtype = float64 (float64 data stays float64: gradient checks need it)",
        "du = [7.]  expected 2u + 1 = 7.0",
        "u.grad = [17.] = 7 + 10 (accumulated, not replaced)",
        "inside no_grad: z.requires_grad = False",
        "gradcheck(Softplus) -> True",
        "gradcheck failed for input 0 (shape (2, 3)) at element (0, 0)",
        "=== Exercises",
    ], []),
    ("02_convolutions.py", [
        "output shape: (4, 16, 16, 16)",
        "kernel (1, 9) @ cols (9, 4) -> [-6. -6. -6. -6.]   conv2d -> [-6. -6. -6. -6.]",
        "cols (72, 1024); product (16, 1024) = (O, N*Ho*Wo)",
        "convs.14   Conv2d           (1, 192, 8, 8)     -> (1, 192, 6, 6)",
        "convs.15   LeakyReLU        (1, 192, 6, 6)     -> (1, 192, 6, 6)",
        "ups.2      ConvTranspose2d  (1, 138, 16, 16)   -> (1, 3, 32, 32)",
        "total 1,408,724 parameters; logits (1, 20)",
        "ups.1      ConvTranspose2d  (1, 138, 8, 8)     -> (1, 3, 16, 16)",
        "multiplications per 2x2 output tile and (o, c) pair: im2col 36, Winograd 16",
        "=== Exercises",
    ], ["02/im2col.png"]),
    ("03_transposed_conv.py", [
        "  sum          [1. 1. 3. 2. 5. 3. 3.]",
        "max |B - A^T| = 0.0e+00: the transposed convolution IS A^T.",
        "4x4 -> 8x8",
        "8x8 -> 16x16",
        "16x16 -> 32x32",
        "kernel 3, stride 2: taps per output pixel range 1 .. 4",
        "kernel 4, stride 2: taps per output pixel range 4 .. 4",
        "kernel 5, stride 2 (the paper's G): taps per output pixel range 4 .. 9",
        "=== Exercises",
    ], ["03/overlap_counts.png"]),
    ("04_dagan_losses.py", [
        "L_D by hand 2.3230 | tinydagan.losses 2.3230",
        "L_c by hand 0.8760 | tinydagan.losses 0.8760",
        "-> predicted class 2 (true 2)",
        "=== Exercises",
    ], []),
    ("05_toy_gan.py", [
        "coverage of 1000 real points: (8, 1.0)",
        "L_D = 2 log 2 = 1.386,  L_G = log 2 = 0.693",
        "[fast mode]",
        "modes covered",
        "=== Exercises",
    ], ["05/good_steps.png", "05/collapse_steps.png", "05/losses.png"]),
])
def test_tutorial_without_data(name, expected, pictures):
    """Key lines of the output, and the pictures it writes under tutorials/out/."""
    for picture in pictures:
        (TUTORIALS / "out" / picture).unlink(missing_ok=True)
    out = run_tutorial(name, env=FAST)
    for line in expected:
        assert line in out, f"{name}: expected {line!r} in its output"
    for picture in pictures:
        assert (TUTORIALS / "out" / picture).is_file(), f"{name} did not write out/{picture}"


def test_06_without_data_says_how_to_get_it(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIALS / "06_train_classifier_and_dagan.py"),
                             "--data-root", str(tmp_path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "download cifar10" in lines[0]


@pytest.mark.realdata
@pytest.mark.slow
def test_06_train_classifier_and_dagan_fast(tmp_path):
    if not os.environ.get("TINYDAGAN_DATA"):
        pytest.skip("TINYDAGAN_DATA is not set: tutorial 06 needs the real CIFAR-10 copy")
    out = run_tutorial("06_train_classifier_and_dagan.py", "--fast", "--out", str(tmp_path))
    assert "CIFAR-10 train" in out and "[fast mode" in out and "=== Exercises" in out
    assert (tmp_path / "DAGAN" / "samples_final.png").is_file()
    assert (tmp_path / "losses.png").is_file()


@pytest.mark.realdata
@pytest.mark.slow
def test_06_trains_one_method_alone(tmp_path):
    """Exercise 2 of tutorial 06 trains C alone on another labelled subset."""
    if not os.environ.get("TINYDAGAN_DATA"):
        pytest.skip("TINYDAGAN_DATA is not set: tutorial 06 needs the real CIFAR-10 copy")
    out = run_tutorial("06_train_classifier_and_dagan.py", "--fast", "--methods", "C",
                       "--data-seed", "1", "--out", str(tmp_path))
    assert "=== 2. C: the classifier alone" in out and "=== 3. DAGAN" not in out
    assert (tmp_path / "C" / "result.json").is_file() and not (tmp_path / "DAGAN").exists()


@pytest.mark.slow
def test_07_classroom_comparison_fast():
    out = run_tutorial("07_classroom_comparison.py", env=FAST)
    assert "[+0.43, +1.71]" in out                     # the made-up numbers of section 1
    assert "6 runs pooled into" in out and "| DAGAN | 3 |" in out
    assert "differing: width" in out and "=== Exercises" in out
    for seat in (1, 2, 3):
        assert (TUTORIALS / "out" / "07" / f"seat_{seat}" / "results.json").is_file()


@pytest.mark.slow
def test_08_your_own_images_fast(tmp_path):
    out = run_tutorial("08_your_own_images.py", "--fast", "--out", str(tmp_path))
    assert "data: the image folder" in out and "3 classes (circle 20, square 20, triangle 20" in out
    assert "tinydagan augment --data" in out and "verdict: " in out and "=== Exercises" in out
    report = json.loads((tmp_path / "augment" / "report.json").read_text())
    assert [r["data_seed"] for r in report["comparisons"][0]["per_seed"]] == [0, 1]
    for name in ("circle", "square", "triangle"):      # the command's images, then sample's
        assert len(list((tmp_path / "augment" / name).glob("s0_*.png"))) == 5
        assert len(list((tmp_path / "more" / name).glob("s1_*.png"))) == 10
    assert (tmp_path / "augment" / "samples.png").is_file()
    assert (tmp_path / "real_images.png").is_file()


def test_every_lesson_has_cells_a_summary_timed_exercises_and_a_listing():
    """Eight numbered lessons; each opens as a notebook (# %% cells), ends with a summary and
    exercises that say their minutes, and is listed in the README and the teacher's guide."""
    assert [name[:2] for name in SCRIPTS] == [f"{i:02d}" for i in range(1, 9)], SCRIPTS
    readme = (TUTORIALS / "README.md").read_text()
    guide = (TUTORIALS / "TEACHING.md").read_text()
    for name in SCRIPTS:
        source = (TUTORIALS / name).read_text()
        assert source.count("# %%") >= 3, f"{name}: no '# %%' cells"
        assert 'section("Summary")' in source and 'section("Exercises")' in source, name
        exercises = source[source.index('section("Exercises")'):]
        numbered = re.findall(r"^(\d)\. (.*)$", exercises, flags=re.M)
        assert numbered and all(re.match(r"\(\d+ min\)", text) for _, text in numbered), \
            f"{name}: every exercise states its minutes, '1. (10 min) ...'"
        assert f"`{name}`" in readme, f"tutorials/README.md does not list {name}"
        assert name in guide, f"tutorials/TEACHING.md does not cover {name}"
