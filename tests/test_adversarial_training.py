"""Bad input and faults on the training side: each test asserts the exact behaviour or the
one-line error.

    other images under the same settings      a checkpoint is refused (its data fingerprint)
    a finished run extended                   equals a straight run, also off the schedules
    flags out of range, NaN, of the wrong type   one error naming the flag, nothing written
    a checkpoint with a bad entry             one error naming the file and what to do
    Ctrl-C or a full disk during a write      the error itself, the old file, no temporary
    an --out that cannot be written           refused before anything is trained
    a FIFO where a file is expected           an error at once, never a hang
    an image-folder class of one image        named (its image is the test set's)
    kill -9 at any moment                     the same command finishes with the same numbers
"""
import contextlib
import errno
import gc
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from tinydagan import cli
from tinydagan.experiments import make_plan, merge_folders, run_grid
from tinydagan.serialization import load_npz, save_npz, write_json
from tinydagan.training import TrainConfig, Trainer, train

from data_fixtures import write_image_folder
from training_fixtures import tiny_cifar, write_learnable_cifar  # noqa: F401  (a pytest fixture)

pytestmark = pytest.mark.adversarial

QUIET = open(os.devnull, "w")
TEMPORARY = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")   # atomic_write's temporary names


def tiny(root, out, **changes):
    """The small settings of tests/test_experiments.py (3 steps, 10 images per class)."""
    settings = dict(data_root=None if root is None else str(root), out_dir=str(out), width=0.125,
                    per_class=10, val_per_class=5, batch_size=16, steps=3, eval_every=3,
                    log_every=3, checkpoint_every=3, sample_every=100, method="C")
    settings.update(changes)
    return TrainConfig(**settings)


def tiny_flags(root, out, *more):
    """``tiny``'s settings as flags of both train and compare (the method apart)."""
    return ["--data-root", str(root), "--out", str(out), "--width", "0.125", "--per-class", "10",
            "--val-per-class", "5", "--batch-size", "16", "--eval-every", "3", "--log-every", "3",
            "--checkpoint-every", "3", *more]


def temporaries(folder):
    return sorted(name for name in os.listdir(folder) if TEMPORARY.match(name))


def one_line_error(capsys, command):
    err = capsys.readouterr().err
    assert err.startswith(f"tinydagan {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def strict_json(path):
    """JSON as the standard has it (Python's json module would accept NaN)."""
    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging: opening a FIFO blocks until a writer comes, maybe never."""
    def expire(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ----- 1. a checkpoint resumes only on the images it was trained on -----------------------
@pytest.mark.slow
def test_a_checkpoint_is_refused_on_other_images_with_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path / "cache"))
    first = write_learnable_cifar(tmp_path / "first", seed=0)
    other = write_learnable_cifar(tmp_path / "other", seed=1)
    cfg = tiny(None, tmp_path / "run")       # the data root comes from $TINYDAGAN_DATA
    monkeypatch.setenv("TINYDAGAN_DATA", str(first))
    train(cfg, out=QUIET)
    refused = r"checkpoint.npz was written by a run with other settings \(differing: data " \
              r"\(the images differ\)\); re-run with --fresh"
    monkeypatch.setenv("TINYDAGAN_DATA", str(other))
    with pytest.raises(ValueError, match=refused):
        Trainer(cfg, out=QUIET)
    monkeypatch.setenv("TINYDAGAN_DATA", str(first))
    assert Trainer(cfg, out=QUIET).step == 3                      # the same images: resumed
    write_learnable_cifar(first, seed=2)                          # files replaced in place
    with pytest.raises(ValueError, match=refused):
        Trainer(cfg, out=QUIET)


def test_a_grid_never_reports_a_result_computed_on_other_images(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path / "cache"))
    first = write_learnable_cifar(tmp_path / "first", seed=0)
    other = write_learnable_cifar(tmp_path / "other", seed=1)
    base = tiny(None, tmp_path / "unused")
    plan = make_plan(base, ["C"], [10], [0], steps=3)
    monkeypatch.setenv("TINYDAGAN_DATA", str(first))
    run_grid(base, plan, str(tmp_path / "grid"), out=QUIET)
    again = run_grid(base, plan, str(tmp_path / "grid"), out=QUIET)      # the same images: reused
    assert len(again["runs"]) == 1
    monkeypatch.setenv("TINYDAGAN_DATA", str(other))                     # finished, but elsewhere
    with pytest.raises(ValueError, match=r"other settings \(differing: data"):
        run_grid(base, plan, str(tmp_path / "grid"), out=QUIET)
    os.remove(tmp_path / "grid" / "C_n10_data0" / "checkpoint.npz")
    log = io.StringIO()
    run_grid(base, plan, str(tmp_path / "grid"), out=log)                # no checkpoint: trained again
    assert "finished earlier" not in log.getvalue() and "test accuracy" in log.getvalue()


# ----- 2. extending a finished run ----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("method", ["C", "DAGAN"])
def test_extending_a_finished_run_equals_a_straight_run(tiny_cifar, tmp_path, method):
    # 6 steps is off the validation and log schedules (every 4): its last validation is
    # in its result, but must not be in the state that 12 steps continue from
    every = dict(method=method, eval_every=4, log_every=4, checkpoint_every=4)
    straight = train(tiny(tiny_cifar, tmp_path / "straight", steps=12, **every), out=QUIET)
    short = train(tiny(tiny_cifar, tmp_path / "extended", steps=6, **every), out=QUIET)
    assert short["history"][-1]["step"] == 6 and "val_acc" in short["history"][-1]
    extended = train(tiny(tiny_cifar, tmp_path / "extended", steps=12, **every), out=QUIET)
    assert [r["step"] for r in extended["history"]] == [4, 8, 12]
    for key in ("history", "best_step", "val_accuracy", "test_accuracy",
                "test_accuracy_final_step", "per_class", "confusion"):
        assert extended[key] == straight[key], key
    for name in ("model.npz", "checkpoint.npz"):
        a, b = load_npz(tmp_path / "straight" / name), load_npz(tmp_path / "extended" / name)
        assert sorted(a) == sorted(b), name
        for key in set(a) - {"train_seconds"}:         # the time it took, not the run's state
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")


# ----- 3. flags and settings ----------------------------------------------------------------
@pytest.mark.parametrize("flags, message", [
    (["--lc-weight", "-1"], "--lc-weight must be finite and >= 0, got -1.0"),
    (["--collapse-ratio", "nan"], "--collapse-ratio must be finite and in [0, 1) (0 turns "
                                  "the check off), got nan"),
    (["--width", "inf"], "--width must be finite and in (0, 4.0], got inf"),
    (["--width", "4.5"], "--width must be finite and in (0, 4.0], got 4.5"),
    (["--batch-size", "4097"], "--batch-size must be <= 4096, got 4097"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--data-seed", "-3"], "--data-seed must be >= 0, got -3"),
    (["--lr", "inf"], "--lr must be finite and > 0, got inf"),
    (["--noise-std", "nan"], "--noise-std must be finite and >= 0, got nan"),
    (["--dropout", "1"], "--dropout must be finite and in [0, 1), got 1.0"),
    (["--ema-decay=-inf"], "--ema-decay must be finite and in [0, 1), got -inf"),
    (["--crop-padding", "16"], "--crop-padding must be in 0..15 (smaller than the image), got 16"),
    (["--crop-padding=-1"], "--crop-padding must be in 0..15 (smaller than the image), got -1"),
])
def test_a_bad_train_flag_is_one_line_naming_the_flag(tmp_path, monkeypatch, capsys, flags,
                                                      message):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path / "cache"))
    (tmp_path / "no-data").mkdir()
    assert cli.main(["train", "--data-root", str(tmp_path / "no-data"),
                     "--out", str(tmp_path / "out"), *flags]) == 1
    assert message in one_line_error(capsys, "train")
    assert not (tmp_path / "out").exists()                             # nothing written


@pytest.mark.parametrize("flags, message", [
    (["--steps-gan", "0"], "compare: --steps-gan must be >= 1, got 0"),    # was: the default
    (["--steps", "0"], "--steps must be >= 1, got 0"),
    (["--data-seeds", "0", "-1"], "compare: --data-seeds must be >= 0, got -1"),
    (["--width", "nan"], "--width must be finite and in (0, 4.0], got nan"),
])
def test_a_bad_compare_flag_is_refused_before_the_plan(tmp_path, capsys, flags, message):
    assert cli.main(["compare", "--dry-run", "--width", "0.125", "--out", str(tmp_path / "out"),
                     *flags]) == 1
    assert message in one_line_error(capsys, "compare")
    assert not (tmp_path / "out").exists()


def test_settings_of_the_wrong_type_are_refused_by_name():
    for changes, message in [(dict(width="0.5"), "--width must be a number, got '0.5'"),
                             (dict(steps=2.5), "--steps must be an integer, got 2.5"),
                             (dict(steps=True), "--steps must be an integer, got True"),
                             (dict(weight_norm="no"), "--weight-norm must be true or false"),
                             (dict(data_root=3), "--data-root must be a string, got 3")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            TrainConfig(**changes)
    assert TrainConfig(only_class=None, data_root=None).only_class is None


def test_json_written_is_strict(tmp_path):
    with pytest.raises(ValueError, match=r"cannot write .*x.json: .*NaN or infinity; use None"):
        write_json(tmp_path / "x.json", {"val_accuracy": float("nan")})
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_no_validation_split_writes_null_not_nan(tiny_cifar, tmp_path):
    result = train(tiny(tiny_cifar, tmp_path / "run", val_per_class=0), out=QUIET)
    saved = strict_json(tmp_path / "run" / "result.json")
    assert saved["val_accuracy"] is None and result["val_accuracy"] is None
    assert saved["best_step"] == 3                                    # the final weights
    base = tiny(tiny_cifar, tmp_path / "grid", val_per_class=0)
    run_grid(base, make_plan(base, ["C"], [5], [0], steps=3), str(tmp_path / "grid"), out=QUIET)
    assert strict_json(tmp_path / "grid" / "results.json")["runs"][0]["val_accuracy"] is None


# ----- 4. what a checkpoint holds is checked before it is trusted ---------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 3-step C run: (its folder, the cache its data is in)."""
    root = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TINYDAGAN_CACHE", str(root / "cache"))
        mp.delenv("TINYDAGAN_DATA", raising=False)
        data = write_learnable_cifar(root / "data")
        train(tiny(data, root / "run"), out=QUIET)
    return root


def _set(**entries):
    return lambda s: s.update({name: np.asarray(value) for name, value in entries.items()})


def _drop(name):
    """Remove the entry ``name``, or every array under ``name/``."""
    return lambda s: [s.pop(k) for k in list(s) if k == name or k.startswith(name + "/")]


def _first_weight_of_d(change):
    """``change(s, name)`` on D's first weight."""
    return lambda s: change(s, next(k for k in sorted(s) if k.startswith("D/")))


CORRUPTIONS = {  # name: (change to the checkpoint's entries, what the error says)
    "negative step": (_set(step=-1), r"has 'step' = -1, outside \[1, "),
    "float step": (_set(step=2.5), r"'step' entry that is not an integer"),
    "NaN step": (_set(step=np.nan), r"'step' entry that is not an integer"),
    "step of shape (1, 1)": (_set(step=[[3]]), r"'step' entry that is not an integer"),
    "EMA updates not the step's": (_set(**{"ema/num_updates": 2}),
                                   r"is at step 3 but counts \{'opt_d': 3, 'ema': 2\} updates"),
    "no step": (_drop("step"), r"has no 'step' entry"),
    "queue of floats": (lambda s: s.update(sampler_queue=s["sampler_queue"] + 0.5),
                        r"no valid 'sampler_queue' \(expected fewer than 100 integer indices"),
    "negative queue": (_set(sampler_queue=[-1, 2]), r"no valid 'sampler_queue'"),
    "queue out of range": (_set(sampler_queue=[0, 100]), r"no valid 'sampler_queue'"),
    "queue of shape (2, 2)": (_set(sampler_queue=np.zeros((2, 2), int)), r"no valid 'sampler_queue'"),
    "no queue": (_drop("sampler_queue"), r"no valid 'sampler_queue'"),
    "NaN best accuracy": (_set(best_acc=np.nan), r"holds non-finite values in 'best_acc'"),
    "best accuracy above 100": (_set(best_acc=150.0), r"has 'best_acc' = 150.0, outside \[0, 100\]"),
    "best step beyond the step": (_set(best_step=99), r"has 'best_step' = 99, outside \[1, 3\]"),
    "best weights missing": (_drop("best"), r"has best-step weights that do not fit D"),
    "negative training time": (_set(train_seconds=-5.0),
                               r"has 'train_seconds' = -5.0, outside \[0, inf\]"),
    "training time as text": (_set(train_seconds="12"), r"'train_seconds' entry that is not a number"),
    "no rng": (_drop("rng"), r"has no 'rng' entry"),
    "rng of another generator": (_set(rng=json.dumps({"bit_generator": "MT19937"})),
                                 r"does not fit this run \(.*PCG64"),
    "history not JSON": (_set(history="[{"), r"has a 'history' entry that is not JSON"),
    "history not a list": (_set(history='{"step": 1}'), r"'history' entry that is not a JSON list"),
    "history of a later step": (_set(history='[{"step": 7}]'), r"has a malformed 'history'"),
    "no last record": (_drop("last"), r"has no 'last' entry"),
    "config not JSON": (_set(config="{oops"), r"has a 'config' entry that is not JSON"),
    "config not a dict": (_set(config="[1]"), r"'config' entry that is not a JSON dict"),
    "format as text": (_set(format="3"), r"has a 'format' entry that is not an integer"),
    "data fingerprint as a number": (_set(data=5), r"has a 'data' entry that is not text"),
    "a weight missing": (_first_weight_of_d(lambda s, k: s.pop(k)),
                         r"does not fit this run \(.*missing keys"),
    "a weight of another shape": (_first_weight_of_d(lambda s, k: s.update({k: np.zeros(3)})),
                                  r"does not fit this run \(.*has shape \(3,\) in the file"),
    "a NaN weight": (_first_weight_of_d(lambda s, k: s.update({k: np.full_like(s[k], np.nan)})),
                     r"holds non-finite values in 'D/"),
    "no optimizer state": (_drop("opt_d"), r"does not fit this run \("),
    "not an npz at all": (None, r"is not a readable .npz array file"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_bad_checkpoint_entry_is_one_error_naming_the_file(finished_run, tmp_path, monkeypatch,
                                                             name):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(finished_run / "cache"))
    change, message = CORRUPTIONS[name]
    path = tmp_path / "run" / "checkpoint.npz"
    if change is None:
        path.parent.mkdir()
        path.write_bytes(b"PK\x03\x04 a zip cut short")
    else:
        state = load_npz(finished_run / "run" / "checkpoint.npz")
        change(state)
        save_npz(path, state)
    with pytest.raises(ValueError) as info:
        Trainer(tiny(finished_run / "data", tmp_path / "run"), out=QUIET)
    text = str(info.value)
    assert re.search(message, text), text
    assert text.startswith(str(path)) and "re-run with --fresh" in text and "\n" not in text


@pytest.mark.slow
def test_a_checkpoint_older_than_a_none_default_setting_resumes(finished_run, tmp_path,
                                                                monkeypatch):
    """A checkpoint written before ``crop_padding`` existed has no such key; its default None
    means what the code did then, so the run resumes. A missing setting with a value is
    still another run."""
    monkeypatch.setenv("TINYDAGAN_CACHE", str(finished_run / "cache"))
    path = tmp_path / "run" / "checkpoint.npz"
    for dropped, refused in [("crop_padding", False), ("lc_weight", True)]:
        state = load_npz(finished_run / "run" / "checkpoint.npz")
        config = json.loads(str(state["config"]))
        assert dropped in config
        del config[dropped]
        state["config"] = np.asarray(json.dumps(config, sort_keys=True))
        save_npz(path, state)
        cfg = tiny(finished_run / "data", tmp_path / "run")
        if refused:
            with pytest.raises(ValueError, match=rf"other settings \(differing: {dropped}\)"):
                Trainer(cfg, out=QUIET)
        else:
            assert Trainer(cfg, out=QUIET).step == 3


# ----- 5 and 6. interrupted and failed writes, unwritable output folders ---------------------
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see below
def test_ctrl_c_inside_an_npz_write_propagates_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    save_npz(path, {"step": np.array(3)})
    real_open, members = zipfile.ZipFile.open, []

    def open_then_interrupted(self, name, mode="r", **kwargs):
        members.append(real_open(self, name, mode, **kwargs))  # a member open for writing...
        raise KeyboardInterrupt                                 # ...when Ctrl-C lands

    monkeypatch.setattr(zipfile.ZipFile, "open", open_then_interrupted)
    with pytest.raises(KeyboardInterrupt):   # np.savez turned it into zipfile's ValueError
        save_npz(path, {"step": np.array(6)})
    monkeypatch.undo()
    assert int(load_npz(path)["step"]) == 3 and os.listdir(tmp_path) == ["checkpoint.npz"]
    members.clear()  # zipfile's finaliser may complain about the abandoned member: harmless


@pytest.mark.parametrize("where", ["ZipFile(...)", "a member's write"])
def test_a_real_ctrl_c_inside_an_npz_write_waits_for_the_zip_then_keeps_the_old_file(
        tmp_path, monkeypatch, where):
    # A real SIGINT, not a raised KeyboardInterrupt: it lands wherever the interpreter is.
    # Raised at once inside ZipFile's constructor, it would leave a half-built object whose
    # finaliser prints a traceback (AttributeError: no attribute '_writing').
    path = tmp_path / "checkpoint.npz"
    save_npz(path, {"step": np.array(3), "w": np.zeros(4)})
    finished, unraisable = [], []
    real_init, real_write = zipfile.ZipFile.__init__, np.lib.format.write_array

    def init_pressed(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        real_init(self, *args, **kwargs)
        finished.append("ZipFile(...)")

    def write_pressed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        real_write(*args, **kwargs)
        finished.append("a member's write")

    if where == "ZipFile(...)":
        monkeypatch.setattr(zipfile.ZipFile, "__init__", init_pressed)
    else:
        monkeypatch.setattr(np.lib.format, "write_array", write_pressed)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(KeyboardInterrupt):
        save_npz(path, {"step": np.array(6), "w": np.ones(4)})
    gc.collect()
    monkeypatch.undo()
    assert where in finished                      # the interrupt waited for the zip
    assert unraisable == []                       # no finaliser failed
    assert int(load_npz(path)["step"]) == 3 and os.listdir(tmp_path) == ["checkpoint.npz"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_save_npz_works_outside_the_main_thread(tmp_path):
    # only the main thread may change a signal handler: elsewhere nothing is held back
    errors = []

    def save():
        try:
            save_npz(tmp_path / "a.npz", {"step": np.array(7)})
        except Exception as e:               # noqa: BLE001  (reported below)
            errors.append(e)

    worker = threading.Thread(target=save)
    worker.start()
    worker.join()
    assert errors == [] and int(load_npz(tmp_path / "a.npz")["step"]) == 7


@pytest.mark.slow
def test_ctrl_c_during_a_checkpoint_write_keeps_the_last_checkpoint(tiny_cifar, tmp_path,
                                                                     monkeypatch, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--method", "C", "--steps", "3", *tiny_flags(tiny_cifar, out)]) == 0
    real_write = np.lib.format.write_array

    def interrupted(*args, **kwargs):
        real_write(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    capsys.readouterr()
    assert cli.main(["train", "--method", "C", "--steps", "6", *tiny_flags(tiny_cifar, out)]) == 130
    assert "interrupted; re-run the same command" in capsys.readouterr().err
    monkeypatch.undo()
    assert int(load_npz(out / "checkpoint.npz")["step"]) == 3 and temporaries(out) == []


@pytest.mark.slow
def test_a_full_disk_during_a_checkpoint_write_is_one_line_and_leaves_no_temporary(
        tiny_cifar, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--method", "C", "--steps", "3", *tiny_flags(tiny_cifar, out)]) == 0

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)   # the data is cached: only the run writes
    capsys.readouterr()
    assert cli.main(["train", "--method", "C", "--steps", "6", *tiny_flags(tiny_cifar, out)]) == 1
    err = one_line_error(capsys, "train")
    assert f"could not write {out / 'checkpoint.npz'}: No space left on device" in err
    monkeypatch.undo()
    assert int(load_npz(out / "checkpoint.npz")["step"]) == 3
    assert temporaries(out) == [] and all(os.path.getsize(out / f) > 0 for f in os.listdir(out))


@pytest.mark.parametrize("command", ["train", "compare"])
def test_an_out_under_a_file_is_refused_before_anything_is_trained(tiny_cifar, tmp_path, capsys,
                                                                   command):
    (tmp_path / "a-file").write_text("not a folder")
    for out in (tmp_path / "a-file", tmp_path / "a-file" / "run"):
        flags = tiny_flags(tiny_cifar, out, "--steps", "3")
        flags += (["--methods", "C", "--data-seeds", "0"] if command == "compare"
                  else ["--method", "C"])
        assert cli.main([command, *flags]) == 1
        err = one_line_error(capsys, command)
        assert f"cannot write to the output folder {out}" in err and "choose another --out" in err
    assert (tmp_path / "a-file").read_text() == "not a folder"
    assert not list(tmp_path.rglob("checkpoint.npz"))                  # nothing trained


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway; the "
                                              "test above covers an unwritable --out")
def test_a_read_only_out_is_refused_before_anything_is_trained(tiny_cifar, tmp_path, capsys):
    (tmp_path / "ro").mkdir(mode=0o500)
    assert cli.main(["train", "--method", "C", *tiny_flags(tiny_cifar, tmp_path / "ro")]) == 1
    assert "cannot write to the output folder" in one_line_error(capsys, "train")
    assert os.listdir(tmp_path / "ro") == []


def test_temporary_files_of_a_killed_write_are_removed_when_a_run_starts(tiny_cifar, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()   # a pid now unused
    names = {"orphan": f".checkpoint.npz.{dead}.0123abcd.tmp",
             "alive": f".result.json.{os.getppid()}.89abcdef.tmp",     # a write under way
             "mine": "notes.tmp", "other": ".checkpoint.npz.tmp"}
    for name in names.values():
        (out / name).write_bytes(b"")
    Trainer(tiny(tiny_cifar, out), out=QUIET)
    assert sorted(os.listdir(out)) == sorted(v for k, v in names.items() if k != "orphan")


# ----- 7. FIFOs -----------------------------------------------------------------------------
def test_a_fifo_where_a_checkpoint_or_json_is_expected_is_an_error_at_once(tiny_cifar, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / "checkpoint.npz")
    with deadline(10):
        with pytest.raises(ValueError, match=r"checkpoint.npz is not a regular file.*--fresh"):
            Trainer(tiny(tiny_cifar, out), out=QUIET)
        with pytest.raises(ValueError, match=r"checkpoint.npz is not a regular file"):
            load_npz(out / "checkpoint.npz")
    grid = tmp_path / "grid"
    grid.mkdir()
    os.mkfifo(grid / "results.json")
    with deadline(10):
        with pytest.raises(ValueError, match=r"results.json is not readable JSON \(.*is not a "
                                             r"regular file: expected a results file, found a FIFO"):
            merge_folders([str(grid)], str(tmp_path / "merged"))


# ----- 8. your own images -------------------------------------------------------------------
def test_a_folder_class_whose_only_image_went_to_the_test_set_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path / "cache"))
    root = write_image_folder(tmp_path / "images", np.random.default_rng(0),
                              classes=("cat", "dog"), per_class=6)
    for extra in sorted((root / "dog").iterdir())[1:]:
        extra.unlink()
    cfg = tiny(root, tmp_path / "run", dataset="folder", per_class=2, val_per_class=1)
    with pytest.raises(ValueError, match=r"class 'dog' of the image folder has only 1 image\(s\); "
                                         r"1 per class are held out as the test set, so each "
                                         r"class needs at least 1 \+ --per-class 2 \+ "
                                         r"--val-per-class 1 images"):
        Trainer(cfg, out=QUIET)


# ----- 9. kill -9 and Ctrl-C at any moment --------------------------------------------------
def _command(root, out):
    """A DAGAN run that writes a checkpoint every step and ends off the validation schedule."""
    return [sys.executable, "-m", "tinydagan", "train", "--method", "DAGAN", "--steps", "24",
            "--width", "0.125", "--per-class", "10", "--val-per-class", "5", "--batch-size", "16",
            "--eval-every", "7", "--checkpoint-every", "1", "--log-every", "1",
            "--sample-every", "10", "--data-root", str(root), "--out", str(out)]


def _wait_for(proc, seen, timeout=120):
    """Poll (every 0.2 ms) until ``seen()`` or the process ends; True if ``seen()``."""
    end = time.time() + timeout
    while proc.poll() is None and time.time() < end:
        if seen():
            return True
        time.sleep(0.0002)
    return False


def _same_as(out, reference):
    again, straight = json.loads((out / "result.json").read_text()), json.loads(
        (reference / "result.json").read_text())
    for key in ("history", "best_step", "val_accuracy", "test_accuracy",
                "test_accuracy_final_step", "per_class", "confusion"):
        assert again[key] == straight[key], key
    a, b = load_npz(out / "model.npz"), load_npz(reference / "model.npz")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """(data root, the folder of an uninterrupted run of ``_command``, its environment)."""
    root = tmp_path_factory.mktemp("straight")
    env = dict(os.environ, TINYDAGAN_CACHE=str(root / "cache"))
    env.pop("TINYDAGAN_DATA", None)
    data = write_learnable_cifar(root / "data")
    subprocess.run(_command(data, root / "run"), env=env, check=True, capture_output=True)
    return data, root / "run", env


def _new_temporaries(out, before, prefix="."):
    return out.exists() and bool({n for n in temporaries(out) if n.startswith(prefix)} - before)


@pytest.mark.slow
def test_kill_9_at_any_moment_then_the_same_command_gives_the_uninterrupted_result(
        straight_run, tmp_path):
    root, straight, env = straight_run
    out = tmp_path / "killed"
    command = _command(root, out)
    moments = {   # when to kill, seen from outside: (start time, temporaries already there)
        "after the first checkpoint": lambda start, before: (out / "checkpoint.npz").exists(),
        "during a checkpoint write": lambda start, before: _new_temporaries(
            out, before, ".checkpoint.npz."),
        "at a random time": lambda start, before: time.time() > start + random.uniform(0.5, 3),
        "during the final writes": lambda start, before: any(
            _new_temporaries(out, before, p) for p in (".model.npz.", ".result.json.")),
    }
    random.seed(0)
    plan = ["after the first checkpoint"] + ["during a checkpoint write"] * 3 + \
           ["at a random time"] * 2 + ["during the final writes"]
    killed, orphans = [], 0
    for name in plan:
        before = set(temporaries(out)) if out.exists() else set()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        start = time.time()
        if _wait_for(proc, lambda: moments[name](start, before)):
            proc.send_signal(signal.SIGKILL)
            killed.append(name)
        proc.wait()
        orphans += _new_temporaries(out, before)       # the kill left a half-written file
    assert len(killed) >= 5 and orphans >= 1, (killed, orphans)
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "resuming from" in finished.stdout and temporaries(out) == []
    _same_as(out, straight)


@pytest.mark.slow
def test_ctrl_c_during_a_write_exits_cleanly_and_the_same_command_resumes(straight_run, tmp_path):
    root, straight, env = straight_run
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(_command(root, out), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for(proc, lambda: (out / "checkpoint.npz").exists()      # a later write
                     and _new_temporaries(out, set(), ".checkpoint.npz."))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted; re-run the same command" in err, err
    assert "Traceback" not in err and temporaries(out) == []
    load_npz(out / "checkpoint.npz")                          # intact: readable
    finished = subprocess.run(_command(root, out), env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    _same_as(out, straight)
