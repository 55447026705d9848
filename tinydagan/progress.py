"""Progress lines for long runs: elapsed time and an estimate of the time left."""

__all__ = ["format_seconds", "eta_seconds"]


def format_seconds(s):
    """12.3 -> '0m12s', 3725 -> '1h02m'."""
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def eta_seconds(elapsed, done, total):
    """Time left if the remaining ``total - done`` units go at the pace of the ``done`` ones."""
    return elapsed / done * (total - done) if done > 0 else float("nan")
