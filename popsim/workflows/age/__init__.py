"""``popsim age``: carriers' data of known age from a scenario, the simulation-based
(ABC) age estimate on the scenario's own demography, and the age report.
See docs/age.md."""
