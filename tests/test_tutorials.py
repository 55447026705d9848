"""The tutorials run top to bottom and print what they teach.

01-03 need no data and run in seconds (also with NUMBA_DISABLE_JIT=1). 05 trains on a
synthetic folder it writes itself (slow); 04 needs the real CIFAR-10 copy (realdata, slow).
Each runs as a subprocess, as a student would run it, with a tiny step count where it trains.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"


def run_tutorial(name, *args, env=None, timeout=600):
    result = subprocess.run([sys.executable, str(TUTORIALS / name), *args], capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("name, expected", [
    ("01_autograd.py", [
        "du = [7.]  expected 2u + 1 = 7.0",
        "u.grad = [17.] = 7 + 10 (accumulated, not replaced)",
        "inside no_grad: z.requires_grad = False",
        "gradcheck(Softplus) -> True",
        "gradcheck failed for input 0 (shape (2, 3)) at element (0, 0)",
        "=== Exercises",
    ]),
    ("02_convolutions.py", [
        "output shape: (4, 16, 16, 16)",
        "4x4 -> 8x8",
        "8x8 -> 16x16",
        "convs.14   Conv2d           (1, 192, 8, 8)     -> (1, 192, 6, 6)",
        "convs.15   LeakyReLU        (1, 192, 6, 6)     -> (1, 192, 6, 6)",
        "ups.2      ConvTranspose2d  (1, 138, 16, 16)   -> (1, 3, 32, 32)",
        "total 1,408,724 parameters; logits (1, 20)",
        "ups.1      ConvTranspose2d  (1, 138, 8, 8)     -> (1, 3, 16, 16)",
        "multiplications per 2x2 output tile and (o, c) pair: im2col 36, Winograd 16",
        "=== Exercises",
    ]),
    ("03_dagan_losses.py", [
        "L_D by hand 2.3230 | tinydagan.losses 2.3230",
        "L_c by hand 0.8760 | tinydagan.losses 0.8760",
        "-> predicted class 2 (true 2)",
        "=== Exercises",
    ]),
])
def test_tutorial_without_data(name, expected):
    out = run_tutorial(name)
    for line in expected:
        assert line in out, f"{name}: expected {line!r} in its output"


@pytest.mark.slow
def test_05_your_own_images_tiny(tmp_path):
    out = run_tutorial("05_your_own_images.py", "--steps", "3", "--width", "0.125",
                       "--images-per-class", "20", "--out", str(tmp_path))
    assert "classes: ('circle', 'square', 'triangle')" in out
    assert "test accuracy" in out and "=== Exercises" in out
    assert (tmp_path / "DAGAN" / "samples_final.png").is_file()
    assert (tmp_path / "real_images.png").is_file()


def test_04_without_data_says_how_to_get_it(tmp_path):
    result = subprocess.run([sys.executable, str(TUTORIALS / "04_train_classifier_and_dagan.py"),
                             "--data-root", str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "download cifar10" in lines[0]


@pytest.mark.realdata
@pytest.mark.slow
def test_04_train_classifier_and_dagan_tiny(tmp_path):
    if not os.environ.get("TINYDAGAN_DATA"):
        pytest.skip("TINYDAGAN_DATA is not set: tutorial 04 needs the real CIFAR-10 copy")
    out = run_tutorial("04_train_classifier_and_dagan.py", "--steps", "3", "--width", "0.125",
                       "--test-per-class", "10", "--out", str(tmp_path))
    assert "CIFAR-10 train" in out and "=== Exercises" in out
    assert (tmp_path / "DAGAN" / "samples_final.png").is_file()
