"""One trainer for every method: data, models, loop, evaluation, checkpoints, guard, pictures.

    result = Trainer(TrainConfig(method="DAGAN", steps=3000, out_dir="runs/dagan")).run()

The method (``methods.py``) says what differs between methods: D's outputs, the generator,
the losses of one step, the test-time class probabilities. Everything else is here.
"""
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import data as tdata
from ..optim import EMA, Adam
from ..progress import eta_seconds, format_seconds
from ..sample import GENERATOR_FILE, save_generator
from ..serialization import prepare_folder, save_npz, write_json
from .checkpoint import CHECKPOINT_FORMAT, Checkpoint, checkpoint_error, read_checkpoint
from .config import TrainConfig
from .evaluate import evaluate, sample_diversity
from .methods import get_method
from .run_data import load_splits, prepare_data, splits_fingerprint

__all__ = ["Trainer", "TrainingStopped", "Best", "train", "CHECKPOINT_FORMAT"]


class TrainingStopped(RuntimeError):
    """The guard stopped the run (NaN/inf loss or a collapsed generator)."""


@dataclass
class Best:
    """The best validation step so far: its accuracy (%; None without a validation split),
    its step, D's EMA weights then."""
    val_accuracy: Optional[float]
    step: int
    weights: dict


class Trainer:
    """Trains one method on one labelled subset and scores it.

    One step (``run``): draw a batch from the labelled set (crop + flip it for the "_aug"
    methods), let the method take its optimisation step (``method.train_step``: D's step,
    then G's for GAN methods), stop on a NaN/inf loss, update the EMA of D's weights.
    Every ``eval_every`` steps: validation accuracy with the EMA weights (the best step's
    weights are kept) and, for a GAN, the collapse check; every ``sample_every`` steps a
    sample grid; every ``checkpoint_every`` steps a checkpoint.

    Model selection: validation accuracy (images held out of the training pool, never the
    test set) chooses the step; the test set is scored once, at the end, with the EMA
    weights of the best validation step (and, for reference, the final ones). A last step
    off the ``eval_every`` schedule is validated too, for the result only (``_finish``): the
    checkpoint keeps what a longer run has at that step, so extending a finished run
    (re-running it with a larger ``--steps``) gives exactly the numbers of a straight run.

    What a run writes to ``cfg.out_dir`` (each file atomically):
        checkpoint.npz   models, optimizers, EMA, best-so-far weights, RNG and sampler state,
                         step counter, history, the images' fingerprint (``checkpoint.py``).
                         Re-running the same command resumes from it and ends with the same
                         numbers as an uninterrupted run.
        samples_*.png    one row per class from the generator (GAN methods)
        generator.npz    G at the last step, for a conditional G (``sample.py``)
        model.npz        the evaluation weights (EMA, at the best validation step)
        result.json      accuracies, per-class accuracy, confusion matrix, config, history,
                         training time: ``train_seconds`` over every session (with what
                         the method trained first), ``train_seconds_this_session``
    """

    def __init__(self, cfg: TrainConfig, splits=None, out=None, extra_labelled=None, fresh=False):
        """``splits``: preloaded ``load_splits(cfg)`` (shared across runs of an experiment);
        ``extra_labelled``: ``ExtraImages`` added to the labelled set (Vanilla GAN's samples;
        the time spent making them counts in the run's ``train_seconds``);
        ``fresh``: delete ``out_dir``'s checkpoint and start from step 0 instead of resuming."""
        self.cfg, self.out = cfg, out or sys.stdout
        self.method = get_method(cfg.method)
        prepare_folder(cfg.out_dir)  # writable (or a clear error now, not after training)

        # --- the images (data_seed): labelled subset, validation split, test set ---
        splits = splits or load_splits(cfg)
        self.data = prepare_data(cfg, splits, extra_labelled)
        self.splits_fingerprint = splits_fingerprint(splits)   # recorded in result.json
        self.classes, self.K = self.data.classes, self.data.num_classes
        self.data_fingerprint = self.data.fingerprint()

        # --- models, optimizers, EMA, batches: every draw from one stream (seed) ---
        self.rng = np.random.default_rng(cfg.seed)
        self.D, self.G = self.method.build_models(cfg, self.K, self.rng)
        betas = (cfg.beta1, 0.999)
        self.opt_d = Adam(self.D.parameters(), cfg.lr, betas)
        self.opt_g = Adam(self.G.parameters(), cfg.lr, betas) if self.G is not None else None
        self.ema = EMA(self.D, cfg.ema_decay)
        self.sampler = tdata.InfiniteSampler(self.data.train_x, self.data.train_y,
                                             cfg.batch_size, self.rng)

        # --- progress: where the loop starts (0, or the checkpoint's step) ---
        self.step = 0
        self.history = []          # one record per logged step: losses, validation accuracy
        self.last_record = None    # the record of the last step done (logged or not)
        self.best = None           # Best, after the first validation
        self._real_diversity = None
        # training time of the sessions before this one (None: an older checkpoint's, unknown),
        # and this session's start (set by run)
        self.earlier_seconds, self._started = 0.0, None
        self.extra_seconds = 0.0 if extra_labelled is None else extra_labelled.train_seconds

        # --- the run's folder: resume from its checkpoint unless fresh ---
        self.ckpt_path = os.path.join(cfg.out_dir, "checkpoint.npz")
        if fresh and os.path.exists(self.ckpt_path):
            os.remove(self.ckpt_path)
        self.resumed = os.path.exists(self.ckpt_path)
        if self.resumed:
            self._load_checkpoint()
        self._last_saved = self.step

    # ----- the loop ---------------------------------------------------------------------
    def run(self):
        """Train from ``self.step`` to ``cfg.steps``, then score on the test set; returns
        the result dict (also written to ``result.json``)."""
        cfg = self.cfg
        if self.resumed:
            print(f"[{cfg.method}] resuming from {self.ckpt_path} at step {self.step}", file=self.out)
        flip = cfg.dataset != "svhn"  # a flipped digit is another symbol
        self._started, start_step = time.perf_counter(), self.step
        while self.step < cfg.steps:
            x, y = self.sampler.next()
            if self.method.augment:
                x = tdata.augment_batch(x, self.rng, cfg.crop_padding, flip=flip)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the guard reports it
                losses = self.method.train_step(cfg, self.D, self.G, self.opt_d, self.opt_g,
                                                x, y, self.K, self.rng)
            self.step += 1
            self._guard(losses)
            self.ema.update()
            record = {"step": self.step, **{k: round(v, 5) for k, v in losses.items()}}
            if self.step % cfg.eval_every == 0:
                acc = self._validate()
                if acc is not None:
                    record["val_acc"] = round(acc, 2)
                    self.best = self._better(self.best, acc)
            if self.G is not None and self.step >= cfg.collapse_after and (
                    self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                self._check_collapse()
            self.last_record = record
            if self.step % cfg.log_every == 0 or "val_acc" in record:
                self.history.append(record)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps or "val_acc" in record:
                elapsed = time.perf_counter() - self._started
                eta = eta_seconds(elapsed, self.step - start_step, cfg.steps - start_step)
                text = " ".join(f"{k} {v:.3f}" for k, v in losses.items())
                val = f" | val {record['val_acc']:.1f}%" if "val_acc" in record else ""
                print(f"[{cfg.method}] step {self.step}/{cfg.steps} | {text}{val} | "
                      f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(eta)}",
                      file=self.out, flush=True)
            if self.G is not None and self.step % cfg.sample_every == 0:
                self.save_samples(f"samples_step{self.step:06d}.png")
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self._guard(losses, check_weights=True)  # never save a broken model
                self.save_checkpoint()
                self._last_saved = self.step
        return self._finish(time.perf_counter() - self._started)

    def _final_rows(self):
        """(history, best) of the result. A last step off the validation schedule is
        validated here, for the result only: ``self.history`` and ``self.best`` (what the
        checkpoint holds) stay what a run going on past this step has, so that extending
        the run equals running it straight."""
        history, best = self.history, self.best
        if self.step % self.cfg.eval_every != 0:
            record = dict(self.last_record)
            acc = self._validate()
            if acc is not None:
                record["val_acc"] = round(acc, 2)
                best = self._better(best, acc)
            history = [r for r in history if r["step"] != self.step] + [record]
        return history, best

    def _finish(self, train_seconds):
        cfg = self.cfg
        history, best = self._final_rows()
        known = self.earlier_seconds is not None and self.extra_seconds is not None
        total = self.earlier_seconds + train_seconds + self.extra_seconds if known else None
        result = {"method": cfg.method, "config": json.loads(cfg.to_json()), "steps": self.step,
                  "train_seconds": None if total is None else round(total, 1),
                  "train_seconds_this_session": round(train_seconds, 1), "history": history,
                  "data_fingerprint": self.splits_fingerprint}
        if self.G is not None:
            result["samples"] = self.save_samples("samples_final.png")
        if self.G is not None and self.G.num_classes:  # 'tinydagan sample' draws from it
            result["generator"] = save_generator(os.path.join(cfg.out_dir, GENERATOR_FILE),
                                                 self.G, cfg, self.classes)
        if self.method.classifier:
            if best is None:  # no validation split (val_per_class 0): use the final weights
                best = Best(None, self.step, self.ema.weights())
            with self.ema.applied(best.weights):
                test_best = self._evaluate(self.data.test_x, self.data.test_y)
            with self.ema.applied():
                test_final = self._evaluate(self.data.test_x, self.data.test_y)
            result.update(test_accuracy=test_best["accuracy"], best_step=best.step,
                          val_accuracy=best.val_accuracy,
                          test_accuracy_final_step=test_final["accuracy"],
                          per_class=test_best["per_class"], confusion=test_best["confusion"],
                          classes=list(self.classes))
            save_npz(os.path.join(cfg.out_dir, "model.npz"), best.weights)
            chosen = ("no validation split" if best.val_accuracy is None
                      else f"best validation {best.val_accuracy:.2f}%")
            print(f"[{cfg.method}] test accuracy {test_best['accuracy']:.2f}% (EMA weights of step "
                  f"{best.step}, {chosen}); final step: {test_final['accuracy']:.2f}%",
                  file=self.out, flush=True)
        write_json(os.path.join(cfg.out_dir, "result.json"), result)
        return result

    # ----- evaluation, guard, pictures --------------------------------------------------
    def _evaluate(self, x, y):
        return evaluate(self.D, self.method, x, y, self.K)

    def _validate(self):
        """Validation accuracy (%) of the EMA weights now, or None (no classifier or no
        validation split)."""
        if not self.method.classifier or len(self.data.val_y) == 0:
            return None
        with self.ema.applied():
            return self._evaluate(self.data.val_x, self.data.val_y)["accuracy"]

    def _better(self, best, acc):
        """``best``, or this step (validation accuracy ``acc``) if it beats it."""
        if best is None or acc > best.val_accuracy:
            return Best(acc, self.step, self.ema.weights())
        return best

    def _guard(self, losses, check_weights=False):
        """Stop with a clear message on a NaN/inf loss (or weight, at checkpoint time)."""
        bad = [f"loss {k} = {v}" for k, v in losses.items() if not np.isfinite(v)]
        if check_weights and not bad:
            models = [("D", self.D)] + ([("G", self.G)] if self.G is not None else [])
            bad = [f"weight {m}.{name} is not finite" for m, model in models
                   for name, p in model.named_parameters() if not np.all(np.isfinite(p.data))]
            optimizers = [("D", self.opt_d)] + ([("G", self.opt_g)] if self.G is not None else [])
            bad += [f"optimizer state {m}:{key} is not finite" for m, opt in optimizers
                    for key, value in opt.state_dict().items() if not np.all(np.isfinite(value))]
        if bad:
            raise TrainingStopped(
                f"step {self.step}: {'; '.join(bad[:3])}: training diverged (try a smaller --lr). "
                + self._kept())

    def _samples(self, per_row):
        """K rows of ``per_row`` generated images (K * per_row, 3, S, S) and their row labels,
        drawn from a stream that does not touch the training RNG (pictures and checks never
        change a run's numbers). A conditional G draws row k from class k."""
        rng = np.random.default_rng([self.cfg.seed, self.step, 7])
        rows = np.repeat(np.arange(self.K), per_row)
        self.G.eval()  # batch norm with running statistics: samples do not move them
        try:
            x = self.G.sample(len(rows), rng, self.cfg.z_noise,
                              rows if self.G.num_classes else None).data
        finally:
            self.G.train()
        return x, rows

    def _check_collapse(self):
        x, rows = self._samples(per_row=16)
        train_y = self.data.train_y
        if self.G.num_classes:  # compare class by class
            groups, real_groups, k = rows, train_y, self.K
        else:  # an unconditional G: all its samples against all its training images
            groups, real_groups, k = np.zeros_like(rows), np.zeros_like(train_y), 1
        if self._real_diversity is None:
            self._real_diversity = sample_diversity(self.data.train_x, real_groups, k)
        ratio = float(np.nanmin(sample_diversity(x, groups, k) / self._real_diversity))
        if ratio < self.cfg.collapse_ratio:
            raise TrainingStopped(
                f"step {self.step}: the generator has collapsed: its samples differ {ratio:.3f}x as "
                f"much as the real images (threshold --collapse-ratio {self.cfg.collapse_ratio}). "
                + self._kept())

    def _kept(self):
        if os.path.exists(self.ckpt_path):
            return f"The last good checkpoint (step {self._last_saved}) is kept in {self.ckpt_path}."
        return "No checkpoint had been written yet."

    def save_samples(self, name):
        """A PNG grid of generated images, one row per class (conditional G)."""
        x, rows = self._samples(per_row=10)
        names = self.classes if self.G.num_classes else [f"sample row {k + 1}" for k in range(self.K)]
        path = os.path.join(self.cfg.out_dir, name)
        tdata.save_grid(path, tdata.to_uint8_nhwc(x), rows, names)
        return path

    # ----- checkpoints ------------------------------------------------------------------
    def _checkpoint(self):
        """The state to resume from (``checkpoint.py`` lists it)."""
        parts = {"D": self.D.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "ema": self.ema.state_dict()}
        if self.G is not None:
            parts.update(G=self.G.state_dict(), opt_g=self.opt_g.state_dict())
        best_accuracy = best_step = None
        if self.best is not None:
            best_accuracy, best_step = self.best.val_accuracy, self.best.step
            parts["best"] = self.best.weights
        return Checkpoint(self.step, self.rng.bit_generator.state, self.sampler._queue,
                          self.history, self.last_record, best_accuracy, best_step, parts,
                          self._seconds_so_far())

    def _seconds_so_far(self):
        """This run's own training time up to now, over every session (None if unknown)."""
        if self.earlier_seconds is None:
            return None
        return self.earlier_seconds + (time.perf_counter() - self._started if self._started
                                       is not None else 0.0)

    def save_checkpoint(self):
        save_npz(self.ckpt_path, self._checkpoint().to_arrays(self.cfg.identity(),
                                                              self.data_fingerprint))

    def _load_checkpoint(self):
        c = read_checkpoint(self.ckpt_path, self.cfg.identity(), self.data_fingerprint,
                            self.cfg.steps, len(self.data.train_y))
        models = [("D", self.D), ("opt_d", self.opt_d), ("ema", self.ema)]
        if self.G is not None:
            models += [("G", self.G), ("opt_g", self.opt_g)]
        try:
            for prefix, model in models:
                model.load_state_dict(c.parts.get(prefix, {}))
            self.rng.bit_generator.state = c.rng_state
        except (KeyError, ValueError, TypeError) as e:
            raise checkpoint_error(self.ckpt_path, f"does not fit this run ({e})") from e
        counters = {"opt_d": self.opt_d.step_count, "ema": self.ema.num_updates}
        if self.G is not None:
            counters["opt_g"] = self.opt_g.step_count
        if any(n != c.step for n in counters.values()):  # each moves once per step
            raise checkpoint_error(self.ckpt_path, f"is at step {c.step} but counts {counters} "
                                                   f"updates")
        if c.best_accuracy is not None:
            expected = {k: v.shape for k, v in self.ema.weights().items()}
            if {k: v.shape for k, v in c.parts.get("best", {}).items()} != expected:
                raise checkpoint_error(self.ckpt_path, "has best-step weights that do not fit D")
            self.best = Best(c.best_accuracy, c.best_step, c.parts["best"])
        self.sampler._queue = c.sampler_queue
        self.history, self.last_record, self.step = c.history, c.last_record, c.step
        self.earlier_seconds = c.train_seconds


def train(cfg, splits=None, out=None, fresh=False):
    """Train and evaluate ``cfg.method``; returns the result dict (also in result.json).
    Resumes from ``cfg.out_dir``'s checkpoint unless ``fresh``. What the method needs
    before training (Vanilla GAN's per-class GANs) runs first."""
    prepare_folder(cfg.out_dir)  # before Vanilla GAN's per-class GANs train in it
    splits = splits or load_splits(cfg)
    extra = get_method(cfg.method).extra_labelled(cfg, splits, out, fresh)
    return Trainer(cfg, splits, out, extra, fresh).run()
