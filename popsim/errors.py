"""Exceptions that carry a user-facing message.

A :class:`PopsimError` is a mistake of the user's (a bad config, an impossible
request) or a documented limit of the model; the CLI prints its message on one
line and exits with status 2, never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import unicodedata

#: Unicode categories never shown raw on a terminal: controls (the ESC of ANSI
#: colour codes, CR, LF), format characters (bidi overrides such as U+202E,
#: zero-width spaces), line and paragraph separators (U+2028, U+2029),
#: surrogates, private-use and unassigned code points.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def has_hidden(text: str) -> bool:
    """Whether ``text`` has a character of :data:`HIDDEN_CATEGORIES`."""
    return any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in text)


def one_line(text: str) -> str:
    """``text`` with every hidden character written as an escape (``\\n``,
    ``\\x1b``, ``\\u202e``), so a message is one line and a path or value cannot
    move the cursor, colour the terminal or reverse the text around it."""
    if not has_hidden(text):
        return text
    return "".join(
        _ESCAPES.get(ch) or ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in HIDDEN_CATEGORIES
        else ch
        for ch in text
    )


class PopsimError(Exception):
    """Base class of every error popsim reports to a user."""

    exit_status = 2


class ConfigError(PopsimError):
    """A config value is missing, of the wrong type, or outside what is allowed.

    The message names the file, the dotted key, the value and what is allowed,
    e.g. ``configs/x.toml: demes[0].inbreeding = 1.3: must be in [0, 1)``.
    """

    def __init__(self, key: str, value: object, allowed: str, source: str | None = None):
        self.key = key
        self.value = value
        self.allowed = allowed
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if self.value is _MISSING:
            text = f"{where}{self.key}: {self.allowed}"
        else:
            text = f"{where}{self.key} = {_show(self.value)}: {self.allowed}"
        return one_line(text)

    def with_source(self, source: str) -> ConfigError:
        """Return a copy of this error that names the file it came from."""
        return ConfigError(self.key, self.value, self.allowed, source)


class SimulationError(PopsimError):
    """A run reached a state the model cannot continue from (e.g. allele capacity)."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
MISSING = _MISSING


def _show(value: object) -> str:
    try:
        text = repr(value) if isinstance(value, str | float) else str(value)
    except (RecursionError, ValueError):  # nested too deeply; an int with > 4300 digits
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= 80 else text[:77] + "..."
