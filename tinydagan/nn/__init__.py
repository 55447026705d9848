"""Layers (``Module`` subclasses), PyTorch style: ``from tinydagan import nn``."""
from .activation import Flatten, GlobalAvgPool2d, LeakyReLU, ReLU, Sigmoid, Tanh
from .conv import NIN, Conv2d, ConvTranspose2d
from .linear import Linear
from .module import Module, ModuleList, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d
from .stochastic import Dropout, GaussianNoise

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d", "ConvTranspose2d", "NIN",
           "BatchNorm1d", "BatchNorm2d", "GaussianNoise", "Dropout", "ReLU", "LeakyReLU",
           "Tanh", "Sigmoid", "GlobalAvgPool2d", "Flatten"]
