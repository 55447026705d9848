"""The classroom comparison: several methods on the *same* labelled subsets.

Which 50 images per class you draw moves accuracy by several points (about 3 for C in our
runs, docs/results.md), more than most gaps between methods. So every method is trained on the same ``data_seed`` subsets and
we report, besides each method's mean +- std, the *paired* difference
(method - baseline) per data seed, with its mean +- std.

Writes to ``out_dir``: one folder per (method, data_seed) run (each resumable), and
``summary.json``, ``summary.md`` and ``summary.png`` (accuracy per method and data seed).
"""
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .progress import format_seconds
from .serialization import atomic_write, write_json, write_text
from .training.config import TrainConfig
from .training.methods import get_method
from .training.run_data import load_splits
from .training.trainer import train

__all__ = ["compare", "summarise", "format_summary", "plot_summary"]


def compare(base: TrainConfig, methods, data_seeds, out_dir, steps_gan=None, out=None, fresh=False):
    """Train every method on every data seed (same seed for the weights), then summarise.

    ``base.steps`` is the number of steps of a plain classifier; a method that trains a
    generator jointly gets ``steps_gan`` (default: its ``steps_factor`` x base.steps, since
    it needs about twice as many to catch up).
    """
    out = out or sys.stdout
    for method in methods:
        if not get_method(method).classifier:
            raise ValueError(f"compare: {method} is not a classifier; it cannot be scored")
    splits = load_splits(base)
    runs = []
    started = time.perf_counter()
    plan = [(d, m) for d in data_seeds for m in methods]
    for i, (data_seed, method) in enumerate(plan):
        m = get_method(method)
        steps = (steps_gan or m.steps_factor * base.steps) if m.joint_generator else base.steps
        cfg = base.replace(method=method, data_seed=data_seed, steps=steps,
                           out_dir=os.path.join(out_dir, f"{method}_data{data_seed}"))
        print(f"== run {i + 1}/{len(plan)}: {method}, data_seed {data_seed}, seed {cfg.seed}, "
              f"{cfg.steps} steps -> {cfg.out_dir} ({format_seconds(time.perf_counter() - started)} "
              f"since the start)", file=out, flush=True)
        t0 = time.perf_counter()
        result = train(cfg, splits, out, fresh)
        runs.append({"method": method, "data_seed": data_seed, "seed": cfg.seed,
                     "steps": cfg.steps, "test_accuracy": result["test_accuracy"],
                     "best_step": result["best_step"], "val_accuracy": result["val_accuracy"],
                     "test_accuracy_final_step": result["test_accuracy_final_step"],
                     "seconds": round(time.perf_counter() - t0, 1)})
    summary = summarise(runs, methods)
    summary["config"] = json.loads(base.to_json())
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "summary.json"), summary)
    text = format_summary(summary)
    write_text(os.path.join(out_dir, "summary.md"), text)
    plot_summary(summary, os.path.join(out_dir, "summary.png"))
    print(text, file=out, flush=True)
    return summary


def _mean_std(values):
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def summarise(runs, methods):
    """Per-method mean/std and paired differences against the first method."""
    by = {(r["method"], r["data_seed"]): r["test_accuracy"] for r in runs}
    seeds = sorted({r["data_seed"] for r in runs})
    baseline = methods[0]
    table = {}
    for m in methods:
        accs = [by[(m, s)] for s in seeds]
        mean, std = _mean_std(accs)
        row = {"per_seed": accs, "mean": mean, "std": std}
        if m != baseline:
            diffs = [by[(m, s)] - by[(baseline, s)] for s in seeds]
            row["paired_diff"], (row["diff_mean"], row["diff_std"]) = diffs, _mean_std(diffs)
        table[m] = row
    return {"runs": runs, "data_seeds": seeds, "baseline": baseline, "methods": table}


def format_summary(summary):
    seeds, base = summary["data_seeds"], summary["baseline"]
    head = "| method | " + " | ".join(f"data_seed {s}" for s in seeds) + f" | mean +- std | paired diff vs {base} |"
    lines = [head, "|" + "---|" * (len(seeds) + 3)]
    for m, row in summary["methods"].items():
        cells = " | ".join(f"{a:.2f}" for a in row["per_seed"])
        diff = (f"{row['diff_mean']:+.2f} +- {row['diff_std']:.2f} ("
                + ", ".join(f"{d:+.2f}" for d in row["paired_diff"]) + ")") if "diff_mean" in row else "-"
        lines.append(f"| {m} | {cells} | {row['mean']:.2f} +- {row['std']:.2f} | {diff} |")
    return "Test accuracy (%), EMA weights at the best validation step\n\n" + "\n".join(lines) + "\n"


def plot_summary(summary, path, width=560, height=320):
    """A bar chart: one group per method, one bar per data seed, the mean as a line."""
    methods, seeds = list(summary["methods"]), summary["data_seeds"]
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    left, bottom, top = 40, height - 30, 20
    top_acc = max(10.0, np.ceil(max(a for r in summary["methods"].values() for a in r["per_seed"]) / 10) * 10)
    scale = (bottom - top) / top_acc
    for tick in np.arange(0, top_acc + 1, 10):
        y = bottom - tick * scale
        draw.line([(left, y), (width - 10, y)], fill=(225, 225, 225))
        draw.text((left - 4, y), f"{tick:.0f}", fill="black", font=font, anchor="rm")
    colours = [(66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88), (171, 71, 188)]
    group = (width - left - 10) / len(methods)
    bar = group * 0.7 / len(seeds)
    for i, m in enumerate(methods):
        x0 = left + i * group + group * 0.15
        row = summary["methods"][m]
        for j, acc in enumerate(row["per_seed"]):
            draw.rectangle([x0 + j * bar, bottom - acc * scale, x0 + (j + 1) * bar - 2, bottom],
                           fill=colours[j % len(colours)])
        y = bottom - row["mean"] * scale
        draw.line([(x0, y), (x0 + len(seeds) * bar, y)], fill="black", width=2)
        draw.text((x0 + len(seeds) * bar / 2, bottom + 12), m, fill="black", font=font, anchor="mm")
    draw.text((left, 6), "test accuracy (%) per data seed (bars) and mean (line)", fill="black", font=font)
    for j, seed in enumerate(seeds):  # legend: one colour per data seed
        x = width - 10 - (len(seeds) - j) * 75
        draw.rectangle([x, 6, x + 10, 16], fill=colours[j % len(colours)])
        draw.text((x + 14, 11), f"data_seed {seed}", fill="black", font=font, anchor="lm")
    atomic_write(path, lambda f: img.save(f, format="PNG"))
