"""checkpoint.npz: what a run saves to resume exactly, and the checks made before trusting one.

A checkpoint is a plain ``.npz`` (no pickle) with these entries:

    format                CHECKPOINT_FORMAT, the version of this layout
    config                TrainConfig.identity() as JSON: the settings a resumed run must share
    data                  RunData.fingerprint(): the images the run trains on
    step                  steps done (>= 1)
    rng                   the state of the training Generator (JSON)
    sampler_queue         (Q,) the sampler's next indices into the labelled set, Q < M
    history               the logged records so far (JSON list)
    last                  the record of the last step (JSON), for a result that ends there
    best_acc, best_step   the best validation so far (absent before the first validation)
    train_seconds         the training time of every session up to this step (absent in
                          checkpoints written before it was kept: that time is unknown)
    D/..., opt_d/..., ema/..., best/..., and for a GAN G/..., opt_g/...   the arrays

``read_checkpoint`` refuses anything else with one ValueError that names the file and says
what to do: another format, other settings or images, an entry missing, of the wrong type
or out of range. (The arrays of the models are checked by their ``load_state_dict``.)
"""
import json
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..serialization import load_npz

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "read_checkpoint", "checkpoint_error"]

# The version of the layout above, and what changed with it:
# 2: the networks' layers are named as nn registers them (D.convs, G.ups, G.bns)
# 3: "data" (the fingerprint of the run's images) and "last" (the last step's record)
CHECKPOINT_FORMAT = 3


@dataclass
class Checkpoint:
    """A run's state between two steps. ``parts``: {"D": D.state_dict(), "opt_d": ..., ...}."""
    step: int
    rng_state: dict
    sampler_queue: np.ndarray
    history: list
    last_record: dict
    best_accuracy: Optional[float]   # None before the first validation
    best_step: Optional[int]
    parts: dict
    train_seconds: Optional[float] = None   # None: not known (an older checkpoint)

    def to_arrays(self, identity, data_fingerprint):
        """{entry: array} for ``save_npz``."""
        s = {"format": np.array(CHECKPOINT_FORMAT),
             "config": np.array(json.dumps(identity, sort_keys=True)),
             "data": np.array(data_fingerprint),
             "step": np.array(self.step),
             "rng": np.array(json.dumps(self.rng_state)),
             "sampler_queue": np.asarray(self.sampler_queue, np.int64),
             "history": np.array(json.dumps(self.history)),
             "last": np.array(json.dumps(self.last_record))}
        if self.best_accuracy is not None:
            s["best_acc"], s["best_step"] = np.array(self.best_accuracy), np.array(self.best_step)
        if self.train_seconds is not None:
            s["train_seconds"] = np.array(float(self.train_seconds))
        for prefix, arrays in self.parts.items():
            s.update({f"{prefix}/{name}": value for name, value in arrays.items()})
        return s


WHAT_TO_DO = "re-run with --fresh to start afresh, or use another --out folder"


def checkpoint_error(path, problem):
    """The one error for a checkpoint that cannot be resumed, with what to do about it."""
    return ValueError(f"{path} {problem}; {WHAT_TO_DO}")


def read_checkpoint(path, identity, data_fingerprint, steps, num_train):
    """The checked Checkpoint in ``path``, written by a run with these settings
    (``identity``) on these images (``data_fingerprint``), for a run of ``steps`` steps on
    ``num_train`` labelled images."""
    try:
        s = load_npz(path)
    except ValueError as e:  # not an .npz, or not a regular file: its message names the file
        raise ValueError(f"{e}; {WHAT_TO_DO}") from e
    entry = _Entries(s, path)
    written = entry.integer("format", 1) if "format" in s else 1
    if written != CHECKPOINT_FORMAT:
        raise checkpoint_error(path, f"was written by another version of tinydagan (checkpoint "
                                     f"format {written}; this version reads format "
                                     f"{CHECKPOINT_FORMAT})")
    saved = {**entry.json("config", dict), "data": entry.text("data")}
    current = {**json.loads(json.dumps(identity, sort_keys=True)), "data": data_fingerprint}
    # .get: a setting added after the checkpoint was written, whose default None keeps the
    # old behaviour, is the same run (as in experiments._settings_diff)
    diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if diff:
        diff = [k + " (the images differ)" if k == "data" else k for k in diff]
        raise checkpoint_error(path, f"was written by a run with other settings (differing: "
                                     f"{', '.join(diff)})")
    step = entry.integer("step", 1)
    if step > steps:
        raise ValueError(f"{path} is at step {step}, beyond --steps {steps}; ask for at least "
                         f"{step} steps or use another --out")
    for name, value in s.items():  # the guard never saves a NaN: one here was not written by us
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise checkpoint_error(path, f"holds non-finite values in '{name}'")

    queue = s.get("sampler_queue")
    if queue is None or queue.ndim != 1 or queue.dtype.kind not in "iu" or len(queue) >= num_train \
            or (len(queue) and not (queue.min() >= 0 and queue.max() < num_train)):
        raise checkpoint_error(path, f"has no valid 'sampler_queue' (expected fewer than "
                                     f"{num_train} integer indices in [0, {num_train}))")
    history = entry.json("history", list)
    if not all(isinstance(r, dict) and _is_int(r.get("step")) and 1 <= r["step"] <= step
               for r in history):
        raise checkpoint_error(path, f"has a malformed 'history' (records with a 'step' from "
                                     f"1 to {step} expected)")
    last = entry.json("last", dict)
    if last.get("step") != step:
        raise checkpoint_error(path, f"has a 'last' record of step {last.get('step')!r}, not "
                                     f"of its step {step}")
    best_accuracy = best_step = None
    if "best_acc" in s or "best_step" in s:
        best_accuracy = entry.number("best_acc", 0, 100)
        best_step = entry.integer("best_step", 1, step)
    train_seconds = entry.number("train_seconds", 0, math.inf) if "train_seconds" in s else None
    parts = {}
    for name, value in s.items():
        if "/" in name:
            prefix, key = name.split("/", 1)
            parts.setdefault(prefix, {})[key] = value
    return Checkpoint(step, entry.json("rng", dict), queue.astype(np.int64), history, last,
                      best_accuracy, best_step, parts, train_seconds)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class _Entries:
    """Reading one entry of a checkpoint as a value of a given kind, or one clear error."""

    def __init__(self, arrays, path):
        self.arrays, self.path = arrays, path

    def _scalar(self, name, kinds, words):
        value = self.arrays.get(name)
        if value is None:
            raise checkpoint_error(self.path, f"has no '{name}' entry")
        if value.shape != () or value.dtype.kind not in kinds:
            raise checkpoint_error(self.path, f"has a '{name}' entry that is not {words} "
                                              f"(got {value.dtype} of shape {value.shape})")
        return value.item()

    def integer(self, name, low, high=None):
        value = self._scalar(name, "iu", "an integer")
        if value < low or (high is not None and value > high):
            raise checkpoint_error(self.path, f"has '{name}' = {value}, outside [{low}, "
                                              f"{'...' if high is None else high}]")
        return int(value)

    def number(self, name, low, high):
        value = self._scalar(name, "iuf", "a number")
        if not (math.isfinite(value) and low <= value <= high):
            raise checkpoint_error(self.path, f"has '{name}' = {value}, outside [{low}, {high}]")
        return float(value)

    def text(self, name):
        return self._scalar(name, "U", "text")

    def json(self, name, kind):
        try:
            value = json.loads(self.text(name))
        except json.JSONDecodeError as e:
            raise checkpoint_error(self.path, f"has a '{name}' entry that is not JSON ({e})")
        if not isinstance(value, kind):
            raise checkpoint_error(self.path, f"has a '{name}' entry that is not a JSON "
                                              f"{kind.__name__}")
        return value
