"""The paper's three trends, read from a grid's results as verdicts with paired intervals.

The paper (docs/paper.md) claims, on CIFAR-10 and SVHN:

- T1: DAGAN beats C when data is scarce, and its gain shrinks as the images per class grow;
- T2: DAGAN_aug (DAGAN with standard augmentation) is the best method at every size;
- T3: at the smallest size, DAGAN is at least as good as Vanilla GAN and Semi GAN.

Each claim is checked with paired differences (``report.paired``: per data seed, the same
labelled images for both methods; a 95% t-interval over the seeds). A verdict is one of

- "holds": every interval the claim needs lies on its side of zero;
- "contradicted": an interval lies on the wrong side (a difference the grid can see, against
  the claim), even while other cells are still to run;
- "not shown": neither, some interval contains zero (the grid cannot tell);
- "not measured": the grid lacks a method, a size, or a second data seed the claim needs.

"Shrinking" in T1 is measured directly: per data seed, DAGAN's gain over C at the smallest
size minus its gain at the largest size, and that difference's paired interval.
"""
from .report import cells, paired, seed_differences, verdict

__all__ = ["TREND_CLAIMS", "TREND_METHODS", "TREND_VERDICTS", "trend_verdicts", "format_trends"]

TREND_CLAIMS = {
    "T1": "DAGAN beats C at the smallest size, and its gain shrinks as the size grows",
    "T2": "DAGAN_aug is the best method at every size",
    "T3": "at the smallest size, DAGAN is at least as good as Vanilla GAN and Semi GAN",
}

# the methods a claim compares: a grid without them gets no verdict on it
TREND_METHODS = {"T1": ("C", "DAGAN"), "T2": ("DAGAN_aug",), "T3": ("DAGAN", "VanillaGAN", "SemiGAN")}

TREND_VERDICTS = ("holds", "contradicted", "not shown", "not measured")


def _diff(table, a, b, n):
    """The paired interval of a - b at size n over their common data seeds, or None."""
    diffs = seed_differences(table, a, b, n)
    return paired(list(diffs.values())) if diffs else None


def _combine(intervals):
    """One verdict from the paired intervals a claim needs, each oriented so that the claim
    wants it above zero (None: not run). ``report.verdict`` reads each one: any "hurt" ->
    "contradicted" (even before the grid is complete); then any not run or with one data
    seed -> "not measured"; all "helped" -> "holds"; otherwise "not shown"."""
    words = [verdict(d) if d is not None and d["low"] is not None else None for d in intervals]
    if "hurt" in words:
        return "contradicted"
    if not words or None in words:
        return "not measured"
    return "holds" if all(w == "helped" for w in words) else "not shown"


def trend_verdicts(results):
    """{"T1": {...}, ...} for each claim whose methods the grid has (T2 also needs another
    method), each with "claim", "verdict" and "checks": the list of (what was compared, its
    paired interval or None) the verdict was read from."""
    table, methods, sizes = cells(results)
    if not sizes:
        return {}
    small, large = sizes[0], sizes[-1]
    checks = {}

    # T1: the gain at the smallest size above zero, and (gain there - gain at the largest) too
    gains = {n: seed_differences(table, "DAGAN", "C", n) for n in (small, large)}
    common = sorted(set(gains[small]) & set(gains[large]))
    shrink = (paired([gains[small][s] - gains[large][s] for s in common])
              if common and large != small else None)
    checks["T1"] = [(f"DAGAN - C at {small} per class", _diff(table, "DAGAN", "C", small)),
                    (f"DAGAN's gain over C at {small} minus its gain at {large} per class", shrink)]

    # T2: DAGAN_aug above every other method, at every size
    checks["T2"] = [(f"DAGAN_aug - {m} at {n} per class", _diff(table, "DAGAN_aug", m, n))
                    for n in sizes for m in methods if m != "DAGAN_aug"]

    # T3: "at least as good": holds when DAGAN is measurably better, is contradicted when
    # measurably worse, not shown in between
    checks["T3"] = [(f"DAGAN - {m} at {small} per class", _diff(table, "DAGAN", m, small))
                    for m in ("VanillaGAN", "SemiGAN")]

    out = {}
    for name, needed in TREND_METHODS.items():
        if all(m in methods for m in needed) and checks[name]:
            out[name] = {"claim": TREND_CLAIMS[name], "checks": checks[name],
                         "verdict": _combine([d for _, d in checks[name]])}
    return out


def _interval(d):
    if d is None:
        return "no data seed with both runs yet"
    if d["low"] is None:
        return f"{d['mean']:+.2f} (one data seed: no interval)"
    return (f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}], positive on "
            f"{d['positive']} of {d['k']} seeds")


def format_trends(results):
    """The trends section of results.md (a str; empty for a grid of one size or without the
    methods a claim compares)."""
    verdicts = trend_verdicts(results)
    if len(cells(results)[2]) < 2 or not verdicts:
        return ""
    lines = ["## The paper's trends", "",
             "Paired differences in test accuracy (points): mean [95% interval] over the data "
             "seeds both runs share. A claim holds when every interval it needs lies on its "
             "side of zero, is contradicted when one lies on the other side, is not shown when "
             "an interval contains zero, and is not measured without two data seeds of each "
             "cell it needs.", ""]
    for name, t in verdicts.items():
        lines += [f"**{name}: {t['claim']}: {t['verdict']}.**", ""]
        lines += [f"- {what}: {_interval(d)}" for what, d in t["checks"]]
        lines.append("")
    return "\n".join(lines)
