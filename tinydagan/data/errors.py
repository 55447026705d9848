"""The one error type every data loader raises.

A loader that meets a missing folder, a truncated file, a wrong checksum or a
malformed record raises :class:`DatasetError` with a message that says what was
expected and what was found. It subclasses ``ValueError`` so that code catching
bad values in general still catches it.
"""

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """Bad or missing data on disk (or bad arguments describing it)."""
