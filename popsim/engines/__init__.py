"""Simulation engines: Numba kernels that take a :class:`~popsim.demography.Plan`."""
