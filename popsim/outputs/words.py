"""Counts in sentences: the noun (and verb) agree with the number shown."""

from __future__ import annotations


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
