"""Issue 28 (reliability and security): outputs never overwrite silently, OS
errors are one-line errors, inputs are bounded (docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from popsim.errors import PopsimError
from popsim.outputs import files
from popsim.outputs.files import write_directory


def _fill(text: str):
    def fill(tmp: Path) -> None:
        (tmp / "a.txt").write_text(text)

    return fill


@pytest.fixture(params=["renameat2", "portable"])
def rename_path(request, monkeypatch):
    """Run a test with Linux's renameat2 and with the portable fallback."""
    if request.param == "portable":
        monkeypatch.setattr(files, "_renameat2", lambda source, target, flags: False)
    return request.param


def test_a_directory_that_appears_while_writing_is_not_replaced(tmp_path, rename_path):
    out = tmp_path / "out"

    def fill(tmp: Path) -> None:  # another run finishes first, while this one writes
        write_directory(out, _fill("first"))
        (tmp / "a.txt").write_text("second")

    with pytest.raises(PopsimError, match="appeared while this run was writing") as caught:
        write_directory(out, fill)
    assert (out / "a.txt").read_text() == "first"
    kept = tmp_path / "out.new-1"
    assert str(kept) in str(caught.value) and "\n" not in str(caught.value)
    assert (kept / "a.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.new-1"]


def test_overwrite_replaces_and_leaves_no_hidden_directories(tmp_path, rename_path):
    out = tmp_path / "out"
    write_directory(out, _fill("old"))
    write_directory(out, _fill("new"), overwrite=True)
    assert (out / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_interrupted_overwrite_leaves_the_old_output(tmp_path, monkeypatch):
    """The portable swap interrupted between its two renames rolls back."""
    monkeypatch.setattr(files, "_renameat2", lambda source, target, flags: False)
    out = tmp_path / "out"
    write_directory(out, _fill("old"))
    real_replace = os.replace
    interrupted = []

    def replace(source, target):
        if Path(target) == out and not interrupted:  # the new directory's rename into place
            interrupted.append(source)
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_directory(out, _fill("new"), overwrite=True)
    monkeypatch.undo()
    assert interrupted and (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
