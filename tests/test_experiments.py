"""The classroom comparison: paired differences, the summary files, resuming finished runs."""
import json
import os

import numpy as np
import pytest

from tinydagan.experiments import compare, format_summary, summarise
from tinydagan.training import TrainConfig

from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)


def test_summarise_pairs_methods_on_the_same_data_seed():
    runs = [{"method": "C", "data_seed": 0, "test_accuracy": 30.0},
            {"method": "C", "data_seed": 1, "test_accuracy": 20.0},
            {"method": "DAGAN", "data_seed": 0, "test_accuracy": 33.0},
            {"method": "DAGAN", "data_seed": 1, "test_accuracy": 21.0}]
    s = summarise(runs, ["C", "DAGAN"])
    assert s["methods"]["C"]["mean"] == 25.0
    np.testing.assert_allclose(s["methods"]["C"]["std"], np.std([30, 20], ddof=1))
    assert s["methods"]["DAGAN"]["paired_diff"] == [3.0, 1.0]
    np.testing.assert_allclose(s["methods"]["DAGAN"]["diff_std"], np.std([3, 1], ddof=1))
    text = format_summary(s)
    assert "| DAGAN | 33.00 | 21.00 | 27.00 +- 8.49 | +2.00 +- 1.41 (+3.00, +1.00) |" in text


@pytest.mark.slow
def test_compare_writes_the_summary_and_resumes(tiny_cifar, tmp_path):
    base = TrainConfig(data_root=str(tiny_cifar), width=0.125, per_class=10, val_per_class=5,
                       batch_size=16, steps=3, eval_every=3, log_every=3, checkpoint_every=3)
    quiet = open(os.devnull, "w")
    out = tmp_path / "cmp"
    s = compare(base, ["C", "DAGAN"], [0, 1], str(out), steps_gan=4, out=quiet)
    assert sorted(os.listdir(out)) == ["C_data0", "C_data1", "DAGAN_data0", "DAGAN_data1",
                                       "summary.json", "summary.md", "summary.png"]
    per = {(r["method"], r["data_seed"]): r for r in s["runs"]}
    assert per[("DAGAN", 1)]["steps"] == 4 and per[("C", 0)]["steps"] == 3
    diff = per[("DAGAN", 1)]["test_accuracy"] - per[("C", 1)]["test_accuracy"]
    assert s["methods"]["DAGAN"]["paired_diff"][1] == pytest.approx(diff)
    assert json.load(open(out / "summary.json"))["methods"] == s["methods"]
    again = compare(base, ["C", "DAGAN"], [0, 1], str(out), steps_gan=4, out=quiet)  # all finished
    assert again["methods"] == s["methods"]
