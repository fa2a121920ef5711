"""Progress without a terminal: a plain line with an ETA at most every 30 s."""

from __future__ import annotations

import io

from popsim.commands.common import PlainProgress, progress_bar
from popsim.outputs.words import duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_line_at_most_every_30_seconds_with_an_eta():
    clock, stream = FakeClock(), io.StringIO()
    progress = PlainProgress(100, "community", "replicate", stream, clock)
    for t, n in [(10, 5), (29.9, 5)]:
        clock.now = 1000 + t
        progress.update(n)
    assert stream.getvalue() == ""  # under 30 s: nothing
    clock.now = 1030
    progress.update(10)  # 20 of 100 in 30 s: 120 s to go
    assert stream.getvalue() == "community: 20/100 replicates (20%), elapsed 30 s, ETA 2 min\n"
    clock.now = 1059
    progress.update(30)
    assert stream.getvalue().count("\n") == 1  # 29 s after the last line: none
    clock.now = 1060
    progress.update(0)  # 50 of 100 in 60 s: 60 s to go
    assert stream.getvalue().splitlines()[-1] == (
        "community: 50/100 replicates (50%), elapsed 60 s, ETA 60 s")


def test_progress_bar_writes_plain_lines_when_stderr_is_not_a_terminal(capsys):
    clock = FakeClock()
    with progress_bar(4000, "a long sweep", "point", clock=clock) as update:
        update(1000)
        clock.now += 3600
        update(1000)
    err = capsys.readouterr().err
    assert err == "a long sweep: 2,000/4,000 points (50%), elapsed 60 min, ETA 60 min\n"


def test_durations_read_as_people_read_them():
    assert [duration(x) for x in (4.2, 45, 720, 12_600, float("nan"))] == [
        "4.2 s", "45 s", "12 min", "3.5 h", "?"]
