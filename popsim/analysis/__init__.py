"""The result of a run and the theory it is checked against: the Result object with
its tidy tables (results.py), and exact and diffusion predictions (theory.py)."""
