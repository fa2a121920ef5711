"""popsim.engines.threads: TBB is loaded where pip installed it, and the engines'
chunk size of 1 does not leak to the caller."""

from __future__ import annotations

import numba
import pytest

from popsim.engines import threads


def test_balanced_hands_out_one_iteration_and_restores_the_callers_chunk_size():
    before = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(7)
    try:
        with threads.balanced():
            assert numba.get_parallel_chunksize() == 1
        assert numba.get_parallel_chunksize() == 7
        with pytest.raises(RuntimeError), threads.balanced():
            raise RuntimeError("a kernel failed")
        assert numba.get_parallel_chunksize() == 7
    finally:
        numba.set_parallel_chunksize(before)


def test_tbb_loads_where_it_is_a_dependency(monkeypatch, tbb_expected):
    if tbb_expected:  # pyproject.toml installs the tbb wheel here
        assert threads.load_tbb() is True
    monkeypatch.setattr(threads.sys, "platform", "win32")  # no library name known there
    assert threads.load_tbb() is False
