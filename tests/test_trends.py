"""The paper's trends as verdicts (tinydagan/trends.py), on made-up grids whose answer is known."""
import pytest

from tinydagan.report import format_report
from tinydagan.trends import TREND_VERDICTS, format_trends, trend_verdicts

SETTINGS = {"dataset": "cifar10", "image_size": 16, "width": 0.5}
METHODS = ("C", "C_aug", "VanillaGAN", "SemiGAN", "DAGAN", "DAGAN_aug")


def grid(accuracy, sizes=(50, 500), seeds=(0, 1, 2), methods=METHODS):
    """A results dict whose test accuracy is accuracy(method, n, data_seed)."""
    runs = [{"method": m, "per_class": n, "data_seed": s, "test_accuracy": accuracy(m, n, s),
             "seconds": 1.0} for s in seeds for n in sizes for m in methods]
    return {"settings": SETTINGS, "runs": runs, "version": {"version": "0", "commit": None}}


WOBBLE = (0.0, 0.3, -0.2)   # a little per-seed luck, so that intervals have a width


def the_paper(m, n, s):
    """Every trend clearly there: DAGAN +4 over C at 50, +0.5 at 500; DAGAN_aug best by 2."""
    c = 30.0 if n == 50 else 60.0
    gain = 4.0 if n == 50 else 0.5
    acc = {"C": c, "C_aug": c + 1.5, "VanillaGAN": c + 1.0, "SemiGAN": c + 2.0,
           "DAGAN": c + gain,
           "DAGAN_aug": c + max(gain, 1.5) + 2.0}[m]
    return acc + WOBBLE[s] + 0.1 * s * (m == "DAGAN")


def test_all_three_trends_hold_on_a_grid_that_shows_them():
    verdicts = trend_verdicts(grid(the_paper))
    assert {k: v["verdict"] for k, v in verdicts.items()} == {"T1": "holds", "T2": "holds",
                                                              "T3": "holds"}
    # T1 compares the smallest and the largest size; T2 every other method at every size
    assert len(verdicts["T1"]["checks"]) == 2
    assert len(verdicts["T2"]["checks"]) == 5 * 2
    shrink = verdicts["T1"]["checks"][1][1]
    assert shrink["mean"] == pytest.approx(3.5) and shrink["low"] > 0 and shrink["k"] == 3


def test_dagan_measurably_below_c_contradicts_t1_and_t3_but_not_t2():
    def worse(m, n, s):
        acc = the_paper(m, n, s)
        return acc - 6.0 if m == "DAGAN" else acc
    verdicts = trend_verdicts(grid(worse))
    assert verdicts["T1"]["verdict"] == "contradicted"
    assert verdicts["T3"]["verdict"] == "contradicted"
    assert verdicts["T2"]["verdict"] == "holds"
    # a contradiction already seen is not hidden while the grid's largest size is still running
    partial = grid(worse)
    partial["runs"] = [r for r in partial["runs"] if r["per_class"] == 50 or r["data_seed"] == 0]
    assert trend_verdicts(partial)["T1"]["verdict"] == "contradicted"
    assert trend_verdicts(grid(the_paper, seeds=(0,)))["T1"]["verdict"] == "not measured"


def test_a_gain_that_does_not_shrink_is_not_shown_or_contradicted():
    def flat(m, n, s):         # the same +4 at both sizes, with noise: the shrink is +-
        acc = the_paper(m, n, s)
        if m == "DAGAN" and n == 500:
            acc += 3.5 + (0.8, -0.9, 0.4)[s]
        return acc
    assert trend_verdicts(grid(flat))["T1"]["verdict"] == "not shown"

    def growing(m, n, s):      # the gain grows with n: the shrink is measurably negative
        acc = the_paper(m, n, s)
        return acc + 8.0 if m == "DAGAN" and n == 500 else acc
    assert trend_verdicts(grid(growing))["T1"]["verdict"] == "contradicted"


def test_one_other_method_level_with_dagan_aug_makes_t2_not_shown():
    def level(m, n, s):
        acc = the_paper(m, n, s)
        if m == "C_aug" and n == 500:      # as good as DAGAN_aug, give or take a point
            acc = the_paper("DAGAN_aug", n, s) + (0.9, -1.0, 0.2)[s]
        return acc
    assert trend_verdicts(grid(level))["T2"]["verdict"] == "not shown"


def test_one_data_seed_or_a_missing_cell_is_not_measured():
    one_seed = trend_verdicts(grid(the_paper, seeds=(0,)))
    assert {v["verdict"] for v in one_seed.values()} == {"not measured"}
    partial = grid(the_paper)
    partial["runs"] = [r for r in partial["runs"]
                       if not (r["method"] == "VanillaGAN" and r["data_seed"] > 0)]
    assert trend_verdicts(partial)["T3"]["verdict"] == "not measured"
    assert trend_verdicts(partial)["T1"]["verdict"] == "holds"
    assert set(TREND_VERDICTS) >= {v["verdict"] for v in trend_verdicts(partial).values()}


def test_claims_whose_methods_are_absent_are_left_out_and_one_size_has_no_trends_section():
    two = grid(the_paper, methods=("C", "DAGAN"))
    assert list(trend_verdicts(two)) == ["T1"]
    assert "T2" not in format_trends(two) and "**T1" in format_trends(two)
    assert format_trends(grid(the_paper, sizes=(50,), methods=("C", "DAGAN"))) == ""


def test_the_report_of_a_grid_ends_with_its_trends_and_their_intervals():
    text = format_report(grid(the_paper))
    assert "## The paper's trends" in text
    assert "**T1: DAGAN beats C at the smallest size, and its gain shrinks as the size grows: holds.**" in text
    assert "- DAGAN - SemiGAN at 50 per class: +2.10 [" in text
    assert text.index("## 500 images per class") < text.index("## The paper's trends")
