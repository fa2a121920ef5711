"""Words for numbers: counts in sentences (noun and verb agree), durations, sizes."""

from __future__ import annotations

import math


def counted(count: float | str, singular: str, plural: str | None = None, spec: str = "") -> str:
    """``count`` formatted with ``spec`` and the noun that agrees with what is shown.

    ``counted(1, "replicate")`` is "1 replicate", ``counted(3, "replicate")`` "3
    replicates", ``counted(1000, "point", spec=",")`` "1,000 points"; a count shown
    as "1" (e.g. 0.6 with ``spec=".0f"``) takes the singular. ``plural`` defaults
    to ``singular + "s"``.
    """
    shown = format(count, spec)
    noun = singular if shown == "1" else (plural or singular + "s")
    return f"{shown} {noun}"


def is_are(count: float | str, spec: str = "") -> str:
    """"is" when ``count`` is shown as "1" with ``spec``, else "are"."""
    return "is" if format(count, spec) == "1" else "are"


def duration(seconds: float) -> str:
    """Seconds as people read them: ``4.2 s``, ``45 s``, ``12 min``, ``3.5 h`` (``?`` when
    unknown)."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def byte_size(n: int) -> str:
    """Bytes in binary units: ``512 bytes``, ``3.2 MiB``, ``1.5 GiB``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
