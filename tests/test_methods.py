"""The table of methods: what each says about itself, and that the trainer asks it."""
import os
from pathlib import Path

import numpy as np
import pytest

from tinydagan import Tensor
from tinydagan.experiments import make_plan
from tinydagan.models import Discriminator
from tinydagan.optim import EMA
from tinydagan.training import METHODS, TrainConfig, get_method, train
from tinydagan.training import methods as methods_module
from tinydagan.training.methods import Classifier, format_method_table

from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name, outputs, generator, conditional, augment, steps_factor", [
    ("C", 10, False, None, False, 1), ("C_aug", 10, False, None, True, 1),
    ("VanillaGAN", 10, False, None, False, 2), ("GAN", 1, True, False, False, 1),
    ("SemiGAN", 11, True, False, False, 2), ("DAGAN", 20, True, True, False, 2),
    ("DAGAN_aug", 20, True, True, True, 3)])
def test_what_each_method_says_and_builds(name, outputs, generator, conditional, augment,
                                          steps_factor):
    method = METHODS[name]
    assert method.name == name and method.augment == augment
    assert method.num_outputs(10) == outputs and method.steps_factor == steps_factor
    D, G = method.build_models(TrainConfig(method=name, width=0.125), 10, np.random.default_rng(0))
    assert D.fc.out_features == outputs
    assert (G is not None) == generator
    if generator:
        assert (G.num_classes == 10) == conditional


def test_class_probabilities_per_method():
    logits = Tensor(np.random.default_rng(0).normal(size=(5, 20)))
    p = METHODS["DAGAN"].class_probabilities(logits, 10)          # p(i) + p(i + K)
    e = np.exp(logits.data)
    np.testing.assert_allclose(p, (e[:, :10] + e[:, 10:]) / e.sum(1, keepdims=True))
    p = METHODS["SemiGAN"].class_probabilities(logits[:, :11], 10)  # the K real outputs only
    np.testing.assert_allclose(p, e[:, :10] / e[:, :10].sum(1, keepdims=True))
    p = METHODS["C"].class_probabilities(logits[:, :10], 10)
    np.testing.assert_allclose(p, e[:, :10] / e[:, :10].sum(1, keepdims=True), rtol=1e-12)
    with pytest.raises(ValueError, match="not a classifier"):
        METHODS["GAN"].class_probabilities(logits[:, :1], 10)


def test_unknown_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown method 'DAGAN2'.*'C', 'C_aug'"):
        get_method("DAGAN2")
    with pytest.raises(ValueError, match="method must be one of"):
        TrainConfig(method="DAGAN2")


def test_docs_show_the_table_as_the_code_has_it():
    assert format_method_table() in (DOCS / "methods.md").read_text()
    assert len(format_method_table().splitlines()) == 2 + len(METHODS)


def test_ema_applied_swaps_the_averages_in_and_back_out():
    D = Discriminator(4, 0.125, rng=np.random.default_rng(0))
    ema = EMA(D, 0.5)
    trained = {n: p.data.copy() for n, p in D.named_parameters()}
    for p in D.parameters():
        ema.shadow[next(n for n, q in D.named_parameters() if q is p)] += 1.0
    with ema.applied():
        for name, p in D.named_parameters():
            np.testing.assert_array_equal(p.data, trained[name] + 1.0)
    with pytest.raises(RuntimeError, match="inside"):
        with ema.applied({n: np.zeros_like(v) for n, v in trained.items()}):
            assert all(not p.data.any() for p in D.parameters())
            raise RuntimeError("an error inside the block")
    for name, p in D.named_parameters():  # restored after the error too
        np.testing.assert_array_equal(p.data, trained[name])
    with pytest.raises(ValueError, match="weights 'noise.*|weights '.*' missing"):
        with ema.applied({}):  # weights of another network: refused, trained weights back
            pass
    for name, p in D.named_parameters():
        np.testing.assert_array_equal(p.data, trained[name])
    with ema.applied():  # and the EMA is usable again
        pass


@pytest.mark.slow
def test_a_seventh_method_is_one_entry_in_the_table(tiny_cifar, tmp_path, monkeypatch):
    """A copy of C under another name, added to the table and nowhere else, trains through
    the same trainer and the same command-line config, with C's numbers."""
    monkeypatch.setitem(methods_module.METHODS, "C_copy", Classifier("C_copy"))
    settings = dict(data_root=str(tiny_cifar), width=0.125, per_class=10, val_per_class=5,
                    batch_size=16, steps=4, eval_every=2, log_every=2, checkpoint_every=4)
    quiet = open(os.devnull, "w")
    a = train(TrainConfig(method="C", out_dir=str(tmp_path / "c"), **settings), out=quiet)
    b = train(TrainConfig(method="C_copy", out_dir=str(tmp_path / "copy"), **settings), out=quiet)
    assert b["method"] == "C_copy" and b["history"] == a["history"]
    assert b["test_accuracy"] == a["test_accuracy"]


def test_the_grid_refuses_a_method_that_is_not_a_classifier():
    with pytest.raises(ValueError, match="GAN is not a classifier"):
        make_plan(TrainConfig(), ["C", "GAN"], [50], [0])
