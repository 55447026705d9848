"""The methods end to end on a tiny learnable dataset: they train, evaluate, resume after
SIGKILL with identical results, and the guard stops a diverging run."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tinydagan.experiments import run_seconds
from tinydagan.serialization import load_npz, save_npz
from tinydagan.training import METHODS, TrainConfig, Trainer, TrainingStopped, train
from tinydagan.training.checkpoint import CHECKPOINT_FORMAT
from tinydagan.training.methods import VanillaGAN

from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)

pytestmark = pytest.mark.slow  # whole networks: too slow for the NUMBA_DISABLE_JIT pass

TINY = dict(width=0.125, per_class=10, val_per_class=5, batch_size=16, eval_every=5,
            checkpoint_every=5, log_every=5, sample_every=10, per_class_gan_steps=3,
            gan_samples_per_class=4)


def tiny(root, tmp_path, **changes):
    settings = dict(TINY, data_root=str(root), out_dir=str(tmp_path / "run"))
    settings.update(changes)
    return TrainConfig(**settings)


def test_classifier_learns_the_fixture(tiny_cifar, tmp_path):
    cfg = tiny(tiny_cifar, tmp_path, method="C", steps=60, ema_decay=0.9, lr=2e-3)
    result = train(cfg, out=open(os.devnull, "w"))
    assert result["test_accuracy"] >= 60.0, result["test_accuracy"]  # chance is 10%
    assert len(result["per_class"]) == 10 and np.array(result["confusion"]).sum() == 200
    saved = json.load(open(tmp_path / "run" / "result.json"))
    assert saved["test_accuracy"] == result["test_accuracy"]


@pytest.mark.parametrize("method", [name for name, m in METHODS.items() if m.classifier])
def test_every_method_runs_through_the_one_trainer(tiny_cifar, tmp_path, method):
    result = train(tiny(tiny_cifar, tmp_path, method=method, steps=4), out=open(os.devnull, "w"))
    assert 0.0 <= result["test_accuracy"] <= 100.0
    assert result["steps"] == 4
    if METHODS[method].generator is not None:
        assert os.path.exists(result["samples"])
    if isinstance(METHODS[method], VanillaGAN):  # ten per-class GANs ran first
        assert all((tmp_path / "run" / f"gan_class{k}" / "result.json").exists() for k in range(10))


@pytest.mark.parametrize("padding", [None, 1, 0])
def test_aug_methods_crop_by_crop_padding(tiny_cifar, tmp_path, monkeypatch, padding):
    from tinydagan import data as tdata
    augment_batch, seen = tdata.augment_batch, []

    def recording(x, rng, pad=None, flip=True):
        seen.append(pad)
        return augment_batch(x, rng, pad, flip=flip)

    monkeypatch.setattr(tdata, "augment_batch", recording)
    cfg = tiny(tiny_cifar, tmp_path, method="C_aug", steps=3, crop_padding=padding)
    train(cfg, out=open(os.devnull, "w"))
    assert seen == [padding] * 3               # None: augment_batch's image_size // 8


def _cli(cfg_dir, data_root, cache, steps=30):
    cmd = [sys.executable, "-m", "tinydagan", "train", "--method", "DAGAN", "--steps", str(steps),
           "--width", "0.125", "--per-class", "10", "--val-per-class", "5", "--batch-size", "16",
           "--eval-every", "10", "--checkpoint-every", "3", "--log-every", "1",
           "--data-root", str(data_root), "--out", str(cfg_dir)]
    env = dict(os.environ, TINYDAGAN_CACHE=str(cache))
    return cmd, env


def test_resume_after_sigkill_gives_the_same_result(tiny_cifar, tmp_path):
    cache = tmp_path / "cache"
    cmd, env = _cli(tmp_path / "straight", tiny_cifar, cache)
    subprocess.run(cmd, env=env, check=True, capture_output=True)

    cmd, env = _cli(tmp_path / "killed", tiny_cifar, cache)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoint = tmp_path / "killed" / "checkpoint.npz"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "killed" / "result.json").exists()

    resumed = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    assert "resuming from" in resumed.stdout
    straight = json.load(open(tmp_path / "straight" / "result.json"))
    again = json.load(open(tmp_path / "killed" / "result.json"))
    assert again["test_accuracy"] == straight["test_accuracy"]
    assert again["history"] == straight["history"]  # every logged loss, step by step
    a = np.load(tmp_path / "straight" / "model.npz")
    b = np.load(tmp_path / "killed" / "model.npz")
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name])


def test_guard_stops_on_nan_with_a_huge_learning_rate(tiny_cifar, tmp_path):
    cfg = tiny(tiny_cifar, tmp_path, method="DAGAN", steps=40, lr=1e6, checkpoint_every=1)
    with pytest.raises(TrainingStopped, match=r"step 1: loss L_\w+ = nan: training diverged .*"
                                              r"No checkpoint had been written yet"):
        train(cfg, out=open(os.devnull, "w"))
    assert not (tmp_path / "run" / "result.json").exists()


def test_guard_stops_a_collapsed_generator_and_keeps_the_last_good_checkpoint(tiny_cifar, tmp_path):
    # lr 2: Adam moves every weight by ~2 per step, tanh saturates, all samples alike
    cfg = tiny(tiny_cifar, tmp_path, method="DAGAN", steps=40, lr=2.0, checkpoint_every=1,
               collapse_after=5)
    with pytest.raises(TrainingStopped, match=r"step 5: the generator has collapsed.*"
                                              r"last good checkpoint \(step 4\) is kept") as info:
        train(cfg, out=open(os.devnull, "w"))
    path = tmp_path / "run" / "checkpoint.npz"
    saved = np.load(path)
    assert int(saved["step"]) == 4 and str(path) in str(info.value)
    for name in saved.files:
        if saved[name].dtype.kind == "f":
            assert np.all(np.isfinite(saved[name])), name
    ok = tiny(tiny_cifar, tmp_path, method="DAGAN", steps=10, collapse_after=5, out_dir=str(tmp_path / "ok"))
    assert train(ok, out=open(os.devnull, "w"))["steps"] == 10  # a sane lr passes the same check


def test_a_finished_run_can_be_extended_to_more_steps(tiny_cifar, tmp_path):
    quiet = open(os.devnull, "w")
    straight = train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=20, out_dir=str(tmp_path / "a")), out=quiet)
    train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=10, out_dir=str(tmp_path / "b")), out=quiet)
    extended = train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=20, out_dir=str(tmp_path / "b")), out=quiet)
    assert extended["history"] == straight["history"]
    assert extended["test_accuracy"] == straight["test_accuracy"]
    with pytest.raises(ValueError, match="is at step 20, beyond --steps 5"):
        train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=5, out_dir=str(tmp_path / "b")), out=quiet)


def _set_checkpoint_seconds(path, seconds):
    """Write ``seconds`` as the checkpoint's training time so far (None: drop the entry, as in
    a checkpoint written before the time was kept)."""
    state = load_npz(path)
    state.pop("train_seconds")
    if seconds is not None:
        state["train_seconds"] = np.array(seconds)
    save_npz(path, state)


def test_the_training_time_adds_up_over_the_sessions_of_a_run(tiny_cifar, tmp_path):
    quiet = open(os.devnull, "w")
    first = train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=10), out=quiet)
    assert first["train_seconds"] == first["train_seconds_this_session"] > 0
    ckpt = tmp_path / "run" / "checkpoint.npz"
    assert 0 < float(load_npz(ckpt)["train_seconds"]) <= first["train_seconds"] + 0.05
    _set_checkpoint_seconds(ckpt, 1000.0)              # as if the first 10 steps took 1000 s
    extended = train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=20), out=quiet)
    assert extended["train_seconds"] == pytest.approx(
        1000.0 + extended["train_seconds_this_session"], abs=0.1)
    assert float(load_npz(ckpt)["train_seconds"]) > 1000.0   # the next session goes on from it
    assert run_seconds(extended, measured=3.0) == extended["train_seconds"]

    _set_checkpoint_seconds(ckpt, None)                 # an older checkpoint: time unknown
    again = train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=25), out=quiet)
    assert again["train_seconds"] is None
    assert "train_seconds" not in load_npz(ckpt)        # unknown stays unknown
    assert run_seconds(again, measured=3.0) == 3.0      # then this session's wall time...
    assert run_seconds(again) == again["train_seconds_this_session"]   # ...or its own loop's


def test_vanilla_gan_counts_its_per_class_gans_in_its_training_time(tiny_cifar, tmp_path):
    quiet = open(os.devnull, "w")
    cfg = tiny(tiny_cifar, tmp_path, method="VanillaGAN", steps=4)
    train(cfg, out=quiet)
    run = tmp_path / "run"
    _set_checkpoint_seconds(run / "gan_class0" / "checkpoint.npz", 1000.0)
    again = train(cfg, out=quiet)          # everything finished: nothing trains, times add up
    gans = sum(json.load(open(run / f"gan_class{k}" / "result.json"))["train_seconds"]
               for k in range(10))
    own = float(load_npz(run / "checkpoint.npz")["train_seconds"])
    assert gans > 1000.0
    assert again["train_seconds"] == pytest.approx(gans + own, abs=0.1)


def test_a_checkpoint_of_other_settings_is_refused(tiny_cifar, tmp_path):
    train(tiny(tiny_cifar, tmp_path, method="C", steps=3), out=open(os.devnull, "w"))
    with pytest.raises(ValueError, match="other settings.*lr"):
        Trainer(tiny(tiny_cifar, tmp_path, method="C", steps=3, lr=1e-2), out=open(os.devnull, "w")).run()


def test_a_checkpoint_of_an_older_format_is_refused_with_what_to_do(tiny_cifar, tmp_path):
    """Checkpoints written before the layers got their present names carry no format entry."""
    train(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=3), out=open(os.devnull, "w"))
    path = tmp_path / "run" / "checkpoint.npz"
    state = load_npz(path)
    assert int(state.pop("format")) == CHECKPOINT_FORMAT
    save_npz(path, state)
    with pytest.raises(ValueError, match=f"checkpoint format 1; this version reads format "
                                         f"{CHECKPOINT_FORMAT}.*--fresh"):
        Trainer(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=3), out=open(os.devnull, "w"))
    fresh = Trainer(tiny(tiny_cifar, tmp_path, method="DAGAN", steps=3), out=open(os.devnull, "w"),
                    fresh=True)
    assert fresh.step == 0


def test_too_few_images_per_class_names_both_settings(tiny_cifar, tmp_path):
    with pytest.raises(ValueError, match=r"--per-class 30 \+ --val-per-class 20 = 50 .* has only 40"):
        train(tiny(tiny_cifar, tmp_path, method="C", steps=1, per_class=30, val_per_class=20))


def test_fresh_starts_over(tiny_cifar, tmp_path):
    quiet = open(os.devnull, "w")
    train(tiny(tiny_cifar, tmp_path, method="C", steps=3), out=quiet)
    again = train(tiny(tiny_cifar, tmp_path, method="C", steps=3, lr=1e-2), out=quiet, fresh=True)
    assert again["config"]["lr"] == 1e-2


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        TrainConfig(method="WGAN")
    with pytest.raises(ValueError, match="--image-size must be 16 or 32"):
        TrainConfig(image_size=64)


def test_cli_errors_and_help(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tinydagan", "train", "--no-such-option"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "unrecognized arguments: --no-such-option" in run.stderr
    run = subprocess.run([sys.executable, "-m", "tinydagan", "compare", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "paired" in run.stdout
    run = subprocess.run([sys.executable, "-m", "tinydagan", "train", "--data-root", str(tmp_path / "nowhere"),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 1 and "error" in run.stderr and "Traceback" not in run.stderr


EXTEND = os.path.join(os.path.dirname(__file__), "..", "examples", "extend_runs.py")


def test_extend_runs_trains_a_copy_on_and_prints_the_straight_runs_validation(tiny_cifar, tmp_path):
    quiet = open(os.devnull, "w")
    straight = train(tiny(tiny_cifar, tmp_path, method="C", steps=20, out_dir=str(tmp_path / "a")),
                     out=quiet)
    train(tiny(tiny_cifar, tmp_path, method="C", steps=10, out_dir=str(tmp_path / "b")), out=quiet)
    before = (tmp_path / "b" / "result.json").read_text()
    run = subprocess.run([sys.executable, EXTEND, f"{tmp_path / 'b'}:20", "--out",
                          str(tmp_path / "ext")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    curve = ", ".join(f"{r['step']} {r['val_acc']:.1f}" for r in straight["history"] if "val_acc" in r)
    assert (f"b to 20: best validation {straight['val_accuracy']:.1f}% at step "
            f"{straight['best_step']}; validation by step: {curve}") in run.stdout
    assert "test accuracy" not in run.stdout                            # validation only
    assert (tmp_path / "b" / "result.json").read_text() == before      # the original untouched
    extended = json.load(open(tmp_path / "ext" / "b_to20" / "result.json"))
    assert extended["test_accuracy"] == straight["test_accuracy"]

    for spec, message in [(f"{tmp_path / 'b'}:5", "already has 10 steps"),
                          (f"{tmp_path / 'b'}", "expected RUN_FOLDER:STEPS"),
                          (f"{tmp_path / 'none'}:20", "is not a finished run")]:
        bad = subprocess.run([sys.executable, EXTEND, spec, "--out", str(tmp_path / "ext")],
                             capture_output=True, text=True, timeout=600)
        assert bad.returncode != 0 and message in bad.stderr, (spec, bad.stderr)
