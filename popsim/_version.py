"""The package version, in one place that imports nothing (so modules inside the
package can read it without importing :mod:`popsim` itself)."""

__version__ = "0.1.0"
