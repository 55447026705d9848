"""The grid's report: results.md (per cell mean +- std, paired differences with 95%
t-intervals, the paper's numbers beside ours) and accuracy.png (accuracy against images per
class, the paper's numbers dashed).

A paired difference is taken per data seed (the same images for both methods), so the
subset's own luck cancels; its 95% interval is mean +- t(0.975, k - 1) * std / sqrt(k) over
the k data seeds. An interval that excludes 0 is a difference this grid can see, and
``verdict`` reads it as one word: above zero "helped", below "hurt", around it "no
measurable difference".
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .serialization import atomic_write, write_text

__all__ = ["PAPER_TABLES", "PAPER_TABLE_NAMES", "t_quantile_975", "paired", "VERDICTS", "verdict",
           "verdict_sentence", "seed_differences", "cells", "format_report", "plot_accuracy",
           "write_report"]

# Test accuracy (%) from the paper (docs/paper.md): Table 3 (CIFAR-10), Table 4 (SVHN).
PAPER_TABLES = {
    "cifar10": {
        "C": {50: 37.2, 100: 43.9, 200: 52.0, 500: 63.5, 1000: 70.3},
        "C_aug": {50: 39.6, 100: 47.2, 200: 56.7, 500: 69.4, 1000: 77.1},
        "VanillaGAN": {50: 38.3, 100: 44.0, 200: 53.9, 500: 64.6, 1000: 70.8},
        "SemiGAN": {50: 39.2, 100: 46.4, 200: 56.4, 500: 66.8, 1000: 74.2},
        "DAGAN": {50: 39.3, 100: 47.2, 200: 58.1, 500: 66.5, 1000: 73.2},
        "DAGAN_aug": {50: 45.5, 100: 52.0, 200: 61.8, 500: 72.1, 1000: 79.1},
    },
    "svhn": {
        "C": {50: 37.7, 80: 62.7, 100: 68.7, 200: 82.7, 500: 89.7},
        "SemiGAN": {50: 47.5, 80: 67.3, 100: 74.5, 200: 83.6, 500: 88.9},
        "DAGAN": {50: 49.7, 80: 68.2, 100: 75.8, 200: 84.7, 500: 89.3},
    },
}

PAPER_TABLE_NAMES = {"cifar10": "Table 3 (CIFAR-10)", "svhn": "Table 4 (SVHN)"}

# t(0.975, df) for df = 1..30 (Student's t quantiles, as in any statistics table)
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t_quantile_975(df):
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (1.96 beyond 30)."""
    if df < 1:
        raise ValueError(f"t quantile needs df >= 1, got {df}")
    return _T975[df - 1] if df <= 30 else 1.96


def paired(diffs):
    """{"mean", "std", "low", "high", "positive", "k"} of per-seed differences; the interval is
    None with fewer than two seeds."""
    d = np.asarray(diffs, float)
    k = len(d)
    out = {"mean": float(d.mean()), "k": k, "positive": int((d > 0).sum()),
           "std": float(d.std(ddof=1)) if k > 1 else 0.0, "low": None, "high": None}
    if k > 1:
        half = t_quantile_975(k - 1) * out["std"] / np.sqrt(k)
        out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


VERDICTS = ("helped", "hurt", "no measurable difference")


def verdict(d):
    """What a paired interval ``d`` (``paired``) says: "helped" if it lies above zero, "hurt"
    if below, "no measurable difference" if it contains zero (an end at exactly 0 included)."""
    if d["low"] is None:
        raise ValueError(f"a verdict needs a 95% interval, so at least two data seeds; got "
                         f"{d['k']}")
    if d["low"] > 0:
        return "helped"
    if d["high"] < 0:
        return "hurt"
    return "no measurable difference"


def verdict_sentence(method, baseline, d):
    """One plain sentence for ``method`` against ``baseline`` from their paired test-accuracy
    differences ``d`` (``paired``, in points)."""
    word = verdict(d)
    interval = f"95% interval {d['low']:+.2f} to {d['high']:+.2f}"
    if word == "no measurable difference":
        return (f"No measurable difference: {method}'s mean gain over {baseline} was "
                f"{d['mean']:+.2f} points over {d['k']} data seeds, and its {interval} contains "
                f"zero.")
    side = "above" if word == "helped" else "below"
    return (f"{method} {word}: its test accuracy was {abs(d['mean']):.2f} points {side} "
            f"{baseline}'s on average over {d['k']} data seeds ({interval}, all {side} zero).")


def seed_differences(table, a, b, n):
    """{data seed: accuracy of a - accuracy of b} at size n, over the seeds both were run on
    (``table`` from ``cells``), in seed order."""
    accs_a, accs_b = table.get((a, n), {}), table.get((b, n), {})
    return {s: accs_a[s] - accs_b[s] for s in sorted(set(accs_a) & set(accs_b))}


def cells(results):
    """{(method, n): {data_seed: test accuracy}} and the lists of methods (in run order)
    and sizes."""
    table, methods, sizes = {}, [], []
    for r in results["runs"]:
        table.setdefault((r["method"], r["per_class"]), {})[r["data_seed"]] = r["test_accuracy"]
        if r["method"] not in methods:
            methods.append(r["method"])
        if r["per_class"] not in sizes:
            sizes.append(r["per_class"])
    return table, methods, sorted(sizes)


def format_report(results):
    """results.md as a str."""
    table, methods, sizes = cells(results)
    settings = results["settings"]
    paper = PAPER_TABLES.get(settings.get("dataset"), {})
    base = methods[0] if methods else None
    source = PAPER_TABLE_NAMES.get(settings.get("dataset"))
    paper_note = (f"the paper's number from its {source} where it reports the cell (32x32, full "
                  "width)." if source else "the paper reports no numbers for this dataset.")
    lines = [f"# Test accuracy (%), {settings.get('dataset')} at {settings.get('image_size')}x"
             f"{settings.get('image_size')}, width {settings.get('width')}",
             "",
             "EMA weights at the best validation step; mean +- std over data seeds; the paired "
             f"difference against {base} with its 95% t-interval and on how many seeds it is "
             f"positive; {paper_note}", ""]
    for n in sizes:
        lines += [f"## {n} images per class", "",
                  f"| method | seeds | mean +- std | paired diff vs {base} | 95% interval | "
                  f"positive | paper | paper diff |", "|---|---|---|---|---|---|---|---|"]
        base_accs = table.get((base, n), {})
        for m in methods:
            accs = table.get((m, n))
            if not accs:
                continue
            v = np.array(list(accs.values()))
            spread = f"{v.mean():.2f} +- {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v.mean():.2f}"
            p = paper.get(m, {}).get(n)
            pb = paper.get(base, {}).get(n)
            cells_ = [m, str(len(v)), spread]
            diffs = seed_differences(table, m, base, n)
            if m != base and diffs:
                d = paired(list(diffs.values()))
                interval = f"[{d['low']:+.2f}, {d['high']:+.2f}]" if d["low"] is not None else "-"
                cells_ += [f"{d['mean']:+.2f}", interval, f"{d['positive']}/{d['k']}"]
            else:
                cells_ += ["-", "-", "-"]
            cells_ += [f"{p:.1f}" if p is not None else "-",
                       f"{p - pb:+.1f}" if p is not None and pb is not None and m != base else "-"]
            lines.append("| " + " | ".join(cells_) + " |")
        lines.append("")
    from .trends import format_trends   # here, not at the top: trends reads report's cells
    trends = format_trends(results)
    lines += [trends] if trends else []
    runs = results["runs"]
    version = results.get("version") or {}
    lines.append(f"{len(runs)} runs, {sum(r.get('seconds', 0) for r in runs) / 60:.0f} min of "
                 f"training in all; tinydagan {version.get('version')}, commit {version.get('commit')}.")
    return "\n".join(lines) + "\n"


_COLOURS = [(66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88), (171, 71, 188),
            (0, 172, 193), (120, 120, 120)]


def plot_accuracy(results, path, width=640, height=400):
    """Test accuracy against images per class: one line per method (mean, with +- std bars),
    the paper's numbers as dashed lines of the same colour."""
    table, methods, sizes = cells(results)
    paper = PAPER_TABLES.get(results["settings"].get("dataset"), {})
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    left, right, top, bottom = 50, width - 120, 30, height - 40
    values = [a for accs in table.values() for a in accs.values()]
    values += [paper[m][n] for m in methods for n in sizes if n in paper.get(m, {})]
    lo = max(0.0, np.floor(min(values, default=0) / 10) * 10)
    hi = min(100.0, np.ceil(max(values, default=100) / 10) * 10)
    hi = hi if hi > lo else lo + 10

    def y_of(acc):
        return bottom - (acc - lo) / (hi - lo) * (bottom - top)

    def x_of(i):  # the sizes equally spaced, in order
        return left + (i + 0.5) * (right - left) / max(1, len(sizes))

    for tick in np.arange(lo, hi + 1, 10):
        draw.line([(left, y_of(tick)), (right, y_of(tick))], fill=(225, 225, 225))
        draw.text((left - 6, y_of(tick)), f"{tick:.0f}", fill="black", font=font, anchor="rm")
    for i, n in enumerate(sizes):
        draw.text((x_of(i), bottom + 12), str(n), fill="black", font=font, anchor="mm")
    draw.text(((left + right) / 2, bottom + 28), "labelled images per class", fill="black",
              font=font, anchor="mm")
    draw.text((left, 10), "test accuracy (%): ours (solid, +- std over data seeds), "
              "the paper's (dashed)", fill="black", font=font)
    for j, m in enumerate(methods):
        colour = _COLOURS[j % len(_COLOURS)]
        points = []
        for i, n in enumerate(sizes):
            accs = list(table.get((m, n), {}).values())
            if accs:
                mean, std = float(np.mean(accs)), float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
                x, y = x_of(i), y_of(mean)
                points.append((x, y))
                draw.line([(x, y_of(mean - std)), (x, y_of(mean + std))], fill=colour, width=1)
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        ours_paper = [(x_of(i), y_of(paper[m][n])) for i, n in enumerate(sizes) if n in paper.get(m, {})]
        for (x0, y0), (x1, y1) in zip(ours_paper, ours_paper[1:]):
            for t in np.arange(0, 1, 0.1):   # dashes: every other tenth of the segment
                draw.line([(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t),
                           (x0 + (x1 - x0) * (t + 0.05), y0 + (y1 - y0) * (t + 0.05))], fill=colour, width=2)
        draw.line([(right + 10, top + 16 * j + 6), (right + 30, top + 16 * j + 6)], fill=colour, width=2)
        draw.text((right + 34, top + 16 * j + 6), m, fill="black", font=font, anchor="lm")
    atomic_write(path, lambda f: img.save(f, format="PNG"))


def write_report(results, out_dir):
    """results.md and accuracy.png beside results.json."""
    write_text(os.path.join(out_dir, "results.md"), format_report(results))
    if results["runs"]:
        plot_accuracy(results, os.path.join(out_dir, "accuracy.png"))
