"""``python -m benchmarks``: run the benchmark harness (see benchmarks/harness.py)."""

from benchmarks.harness import main

raise SystemExit(main())
