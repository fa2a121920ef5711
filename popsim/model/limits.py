"""Limits and name rules of configs, defined once for every reader.

:mod:`popsim.model.config` (TOML and dict configs), :mod:`popsim.model.demes_import`
(Demes YAML files), :mod:`popsim.model.plan` (size schedules) and
:mod:`popsim.model.build` (engine checks) import them from here. Units: sizes in
diploid individuals, times in generations.
"""

from __future__ import annotations

import re

#: A deme, allele or model name.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = "must be 1–64 characters: a letter, then letters, digits, '_', '.' or '-'"
#: A dotted config key as sweeps, fits and ``--set`` address it (``demes.persian_jews.inbreeding``).
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")

#: Largest config, sweep, fit or Demes file read, in bytes (4 MiB; popsim's own are under 10 kB).
MAX_CONFIG_BYTES = 4 * 2**20
MAX_GENERATIONS = 1_000_000
MAX_REPLICATES = 10_000_000
#: Largest diploid size a deme may have (2N must fit comfortably in int64 sums of squares).
MAX_SIZE = 10**9
MAX_DEMES = 1000
#: Largest (burn_in + generations + 1) × demes: the size schedule holds one int64 per cell.
MAX_SCHEDULE_CELLS = 50_000_000

#: Generations of ancestry the pedigree engine keeps when the config gives none.
DEFAULT_ANCESTRY = 4
#: The default window where some deme's marriages imply F of at least
#: :data:`DEEP_ANCESTRY_FROM` (c₁/16 + c₂/64 + c_u/8): there the spouses' ancestors
#: beyond four generations are related too (docs/pedigree.md, "The ancestry window").
DEEP_ANCESTRY = 8
DEEP_ANCESTRY_FROM = 0.02
#: Most generations of ancestry the pedigree engine keeps (a couple's kinship costs up to
#: 4^(G−1) steps).
MAX_ANCESTRY = 8
#: Most individuals the pedigree engine holds at once (about 55 bytes each).
MAX_INDIVIDUALS = 200_000_000
