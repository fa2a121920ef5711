"""Speed and memory benchmarks of popsim beside peer tools (not part of the package).

``python -m benchmarks`` runs the harness (:mod:`benchmarks.harness`); see
benchmarks/README.md for the shared model, the peers and the results.
"""
