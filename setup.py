"""Install tinydagan: ``pip install -e .`` (library) or ``pip install -e ".[test]"`` (with pytest).

The version ranges below are the ones the project is tested with (see README.md,
"Tested versions"); widen them only after running the test suite on the new versions.
"""
from setuptools import find_packages, setup

setup(
    name="tinydagan",
    version="0.1.0",
    description=(
        "A minimal, from-scratch teaching library for GAN-based data augmentation "
        "(DAGAN, Zhang & Wu 2019): a small autograd, Numba conv kernels, the paper's losses."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["tinydagan", "tinydagan.*"]),
    install_requires=[
        "numpy>=2.0,<2.5",
        "numba>=0.60,<0.69",
        "pillow>=10.0,<14",
    ],
    extras_require={"test": ["pytest>=8.0,<10"]},
    entry_points={"console_scripts": ["tinydagan=tinydagan.cli:main"]},
    license="MIT",
)
