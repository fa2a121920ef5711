"""Work made of many runs: compare, sweeps, fits and the validation of the engines."""
