"""The description of a population: scenarios, config files, Demes import, the
catalog of presets, and the compiled plan that engines run (one validation path)."""
