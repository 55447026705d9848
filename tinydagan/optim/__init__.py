"""Optimizers and parameter averaging: ``from tinydagan import optim``."""
from .adam import Adam
from .ema import EMA
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "EMA"]
