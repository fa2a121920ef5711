"""How old is a founder allele: carrier genealogies, shared segments, age estimators.

Post-processing of a frequency-engine :class:`~popsim.analysis.results.Result`
(records every generation) and of carriers' data: :mod:`.genealogy` traces
the carriers' genealogy and the segments they still share with the allele's
ancestral haplotype, :mod:`.markers` turns segments into marker haplotypes and
reads shared lengths back from haplotypes, :mod:`.gamma` is the Gamma method
of Gandolfo, Bahlo & Speed (2014), :mod:`.data` reads a user's files.
docs/age.md states the model and its sources.
"""
