"""What is computed from allele frequencies: the closed-form genotype algebra
(genotypes.py) and the registry of every statistic a run reports (statistics.py).
Pure NumPy; the layer every other one may read."""
