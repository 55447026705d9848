"""One trainer for every method: data, loop, evaluation, checkpoints, guard, pictures.

    result = Trainer(TrainConfig(method="DAGAN", steps=3000, out_dir="runs/dagan")).run()

What a run writes to ``out_dir`` (all atomically: temporary file, then rename):
    checkpoint.npz   models, optimizers, EMA, best-so-far weights, RNG and sampler state,
                     step counter, history. Re-running the same command resumes from it and
                     ends with the same numbers as an uninterrupted run.
    samples_*.png    one row per class from the generator (GAN methods)
    model.npz        the evaluation weights (EMA, at the best validation step)
    result.json      accuracies, per-class accuracy, confusion matrix, config, timings

Model selection: validation accuracy (images held out of the training pool, never the test
set) is measured every ``eval_every`` steps with the EMA weights; the test set is scored
once, at the end, with the weights of the best validation step (and, for reference, the
final ones).
"""
import json
import os
import sys
import time

import numpy as np

from .. import data as tdata
from ..optim import EMA, Adam
from ..serialization import load_npz, save_npz
from .config import TrainConfig
from .evaluate import evaluate, sample_diversity
from .methods import METHOD_TABLE, build_models, train_step

__all__ = ["Trainer", "TrainingStopped", "train", "vanilla_gan_samples", "load_splits", "write_json",
           "format_seconds"]


class TrainingStopped(RuntimeError):
    """The guard stopped the run (NaN/inf loss or a collapsed generator)."""


def write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def load_splits(cfg):
    """{"train": Split, "test": Split} at ``cfg.image_size`` (cached on disk after the first run)."""
    if cfg.dataset == "folder":  # a user's own images: hold a test set out of them
        full = tdata.load_dataset("folder", size=cfg.image_size, root=cfg.data_root)
        counts = np.bincount(full.labels, minlength=full.num_classes)
        test_per_class = max(1, int(counts.min()) // 5)
        xtr, ytr, xte, yte = tdata.train_val_split(full.images, full.labels, test_per_class,
                                                   np.random.default_rng(12345))
        return {"train": tdata.Split(xtr, ytr, full.classes), "test": tdata.Split(xte, yte, full.classes)}
    return {split: tdata.load_dataset(cfg.dataset, split, size=cfg.image_size, root=cfg.data_root)
            for split in ("train", "test")}


def format_seconds(s):
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Trainer:
    def __init__(self, cfg: TrainConfig, splits=None, out=None, extra_labelled=None, fresh=False):
        """``splits``: preloaded ``load_splits(cfg)`` (shared across runs of an experiment);
        ``extra_labelled``: (x float NCHW, y) added to the labelled set (Vanilla GAN);
        ``fresh``: delete ``out_dir``'s checkpoint and start from step 0 instead of resuming."""
        self.cfg, self.out = cfg, out or sys.stdout
        self.splits = splits or load_splits(cfg)
        self.extra = extra_labelled
        os.makedirs(cfg.out_dir, exist_ok=True)
        self.ckpt_path = os.path.join(cfg.out_dir, "checkpoint.npz")
        if fresh and os.path.exists(self.ckpt_path):
            os.remove(self.ckpt_path)

    # ----- setup --------------------------------------------------------------------------
    def _prepare_data(self):
        cfg, train = self.cfg, self.splits["train"]
        self.classes = train.classes
        self.K = K = train.num_classes
        counts = np.bincount(train.labels, minlength=K)
        if counts.min() < cfg.per_class + cfg.val_per_class:
            raise ValueError(
                f"--per-class {cfg.per_class} + --val-per-class {cfg.val_per_class} = "
                f"{cfg.per_class + cfg.val_per_class} training images per class are needed, but "
                f"class '{self.classes[int(counts.argmin())]}' has only {counts.min()}")
        data_rng = np.random.default_rng(cfg.data_seed)
        pool_x, pool_y, val_x, val_y = tdata.train_val_split(train.images, train.labels,
                                                             cfg.val_per_class, data_rng, K)
        lab_x, lab_y = tdata.class_balanced_subset(pool_x, pool_y, cfg.per_class, data_rng, K)
        self.labelled = (tdata.to_float_nchw(lab_x), lab_y)              # (K*n, 3, S, S)
        self.val = (tdata.to_float_nchw(val_x), val_y)
        test = self.splits["test"]
        self.test = (tdata.to_float_nchw(test.images), test.labels)
        x, y = self.labelled
        if cfg.only_class is not None:  # a per-class GAN sees only its class
            keep = y == cfg.only_class
            x, y = x[keep], y[keep]
        if self.extra is not None:
            x, y = np.concatenate([x, self.extra[0]]), np.concatenate([y, self.extra[1]])
        self.train_x, self.train_y = x, y

    def _build(self):
        cfg = self.cfg
        self.rng = np.random.default_rng(cfg.seed)  # the one stream every random draw uses
        self.D, self.G = build_models(cfg, self.K, self.rng)
        betas = (cfg.beta1, 0.999)
        self.opt_d = Adam(self.D.parameters(), cfg.lr, betas)
        self.opt_g = Adam(self.G.parameters(), cfg.lr, betas) if self.G is not None else None
        self.ema = EMA(self.D, cfg.ema_decay)
        self.sampler = tdata.InfiniteSampler(self.train_x, self.train_y, cfg.batch_size, self.rng)
        self.step, self.history, self.best = 0, [], None  # best: (val acc, step, EMA weights)

    # ----- checkpoints ------------------------------------------------------------------
    def _state(self):
        s = {"config": np.array(json.dumps(self.cfg.identity(), sort_keys=True)),
             "step": np.array(self.step),
             "rng": np.array(json.dumps(self.rng.bit_generator.state)),
             "sampler_queue": self.sampler._queue,
             "history": np.array(json.dumps(self.history))}
        parts = {"D": self.D.state_dict(), "opt_d": self.opt_d.state_dict(), "ema": self.ema.state_dict()}
        if self.G is not None:
            parts.update(G=self.G.state_dict(), opt_g=self.opt_g.state_dict())
        if self.best is not None:
            s["best_acc"], s["best_step"] = np.array(self.best[0]), np.array(self.best[1])
            parts["best"] = self.best[2]
        for prefix, d in parts.items():
            s.update({f"{prefix}/{k}": v for k, v in d.items()})
        return s

    def save_checkpoint(self):
        save_npz(self.ckpt_path, self._state())

    def _load_checkpoint(self):
        s = load_npz(self.ckpt_path)
        saved = json.loads(str(s["config"]))
        current = json.loads(json.dumps(self.cfg.identity(), sort_keys=True))
        if saved != current:
            diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            raise ValueError(f"{self.ckpt_path} was written by a run with other settings "
                             f"(differing: {', '.join(diff)}); use another --out folder or "
                             f"delete the checkpoint to start afresh")

        def part(prefix):
            return {k[len(prefix) + 1:]: v for k, v in s.items() if k.startswith(prefix + "/")}

        self.D.load_state_dict(part("D"))
        self.opt_d.load_state_dict(part("opt_d"))
        self.ema.load_state_dict(part("ema"))
        if self.G is not None:
            self.G.load_state_dict(part("G"))
            self.opt_g.load_state_dict(part("opt_g"))
        if "best_acc" in s:
            self.best = (float(s["best_acc"]), int(s["best_step"]), part("best"))
        self.rng.bit_generator.state = json.loads(str(s["rng"]))
        self.sampler._queue = s["sampler_queue"].astype(np.int64)
        self.history = json.loads(str(s["history"]))
        self.step = int(s["step"])
        if self.step > self.cfg.steps:
            raise ValueError(f"{self.ckpt_path} is at step {self.step}, beyond --steps "
                             f"{self.cfg.steps}; ask for at least {self.step} steps or use another --out")

    # ----- evaluation, guard, pictures --------------------------------------------------
    def _with_ema(self, fn, weights=None):
        """Run fn() with the EMA weights (or the given ones) loaded into D."""
        self.ema.swap_in()
        if weights is not None:
            for name, p in self.D.named_parameters():
                p.data = weights[name].copy()
        try:
            return fn()
        finally:
            self.ema.swap_out()

    def _validate(self):
        if self.cfg.method == "GAN" or len(self.val[1]) == 0:
            return None
        acc = self._with_ema(lambda: evaluate(self.D, self.cfg.method, *self.val, self.K))["accuracy"]
        if self.best is None or acc > self.best[0]:
            self.best = (acc, self.step, self.ema.weights())
        return acc

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
        if self.G.num_classes:  # compare class by class
            groups, real_groups, k = rows, self.train_y, self.K
        else:  # an unconditional G: all its samples against all its training images
            groups, real_groups, k = np.zeros_like(rows), np.zeros_like(self.train_y), 1
        if self._real_diversity is None:
            self._real_diversity = sample_diversity(self.train_x, real_groups, k)
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

    # ----- the loop ---------------------------------------------------------------------
    def run(self):
        cfg = self.cfg
        self._prepare_data()
        self._build()
        if os.path.exists(self.ckpt_path):
            self._load_checkpoint()
            print(f"[{cfg.method}] resuming from {self.ckpt_path} at step {self.step}", file=self.out)
        self._last_saved, self._real_diversity = self.step, None
        augment = METHOD_TABLE[cfg.method][2]
        flip = cfg.dataset != "svhn"  # a flipped digit is another symbol
        start_time, start_step = time.perf_counter(), self.step
        while self.step < cfg.steps:
            x, y = self.sampler.next()
            if augment:
                x = tdata.augment_batch(x, self.rng, flip=flip)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the guard reports it
                losses = train_step(cfg, self.D, self.G, self.opt_d, self.opt_g, x, y, self.K, self.rng)
            self.step += 1
            self._guard(losses)
            self.ema.update()
            record = {"step": self.step, **{k: round(v, 5) for k, v in losses.items()}}
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                acc = self._validate()
                if acc is not None:
                    record["val_acc"] = round(acc, 2)
                if self.G is not None and self.step >= cfg.collapse_after:
                    self._check_collapse()
            if self.step % cfg.log_every == 0 or self.step == cfg.steps or "val_acc" in record:
                self.history.append(record)
                elapsed = time.perf_counter() - start_time
                eta = elapsed / (self.step - start_step) * (cfg.steps - self.step)
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
        return self._finish(time.perf_counter() - start_time)

    def _finish(self, train_seconds):
        cfg = self.cfg
        result = {"method": cfg.method, "config": json.loads(cfg.to_json()), "steps": self.step,
                  "train_seconds_this_session": round(train_seconds, 1), "history": self.history}
        if self.G is not None:
            result["samples"] = self.save_samples("samples_final.png")
        if cfg.method != "GAN":
            if self.best is None:  # no validation split (val_per_class 0): use the final weights
                self.best = (float("nan"), self.step, self.ema.weights())
            best_acc, best_step, best_weights = self.best
            test_best = self._with_ema(lambda: evaluate(self.D, cfg.method, *self.test, self.K), best_weights)
            test_final = self._with_ema(lambda: evaluate(self.D, cfg.method, *self.test, self.K))
            result.update(test_accuracy=test_best["accuracy"], best_step=best_step, val_accuracy=best_acc,
                          test_accuracy_final_step=test_final["accuracy"],
                          per_class=test_best["per_class"], confusion=test_best["confusion"],
                          classes=list(self.classes))
            save_npz(os.path.join(cfg.out_dir, "model.npz"), best_weights)
            print(f"[{cfg.method}] test accuracy {test_best['accuracy']:.2f}% (EMA weights of step "
                  f"{best_step}, best validation {best_acc:.2f}%); final step: "
                  f"{test_final['accuracy']:.2f}%", file=self.out, flush=True)
        write_json(os.path.join(cfg.out_dir, "result.json"), result)
        return result


def vanilla_gan_samples(cfg, splits, out, fresh=False):
    """Vanilla GAN, phase 1: train one unconditional GAN per class on that class's labelled
    images, then draw ``cfg.gan_samples_per_class`` images from each.
    Returns (x (K * m, 3, S, S) float32, y (K * m,)) to add to C's training set."""
    K = splits["train"].num_classes
    xs, ys = [], []
    for k in range(K):
        sub = cfg.replace(method="GAN", only_class=k, steps=cfg.per_class_gan_steps,
                          out_dir=os.path.join(cfg.out_dir, f"gan_class{k}"))
        trainer = Trainer(sub, splits, out, fresh=fresh)
        trainer.run()
        rng = np.random.default_rng([cfg.seed, k, 11])
        trainer.G.eval()
        xs.append(trainer.G.sample(cfg.gan_samples_per_class, rng, cfg.z_noise).data)
        ys.append(np.full(cfg.gan_samples_per_class, k, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def train(cfg, splits=None, out=None, fresh=False):
    """Train and evaluate ``cfg.method``; returns the result dict (also in result.json).
    Resumes from ``cfg.out_dir``'s checkpoint unless ``fresh``."""
    splits = splits or load_splits(cfg)
    extra = vanilla_gan_samples(cfg, splits, out, fresh) if cfg.method == "VanillaGAN" else None
    return Trainer(cfg, splits, out, extra, fresh).run()
