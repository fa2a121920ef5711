"""Start-up: what `import popsim.cli` and `popsim run` load (no timings, only modules).

Each check runs in a fresh interpreter so that modules imported by other tests
cannot hide an import.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Heavy packages that `popsim run` without --out never needs (SciPy's top level is
#: imported by Numba itself; its submodules are not, until a kernel is first called).
HEAVY = (
    "matplotlib",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
    "scipy.stats",
    "scipy.optimize",
    "scipy.special",
    "demes",
    "tqdm",
)
#: popsim modules that only other subcommands need.
OTHER_COMMANDS = (
    "popsim.workflows.validation",
    "popsim.workflows.fit",
    "popsim.workflows.sweep",
    "popsim.workflows.compare.report",
    "popsim.workflows.compare",
    "popsim.outputs.figures",
    "popsim.analysis.theory",
)


def _loaded(code: str) -> list[str]:
    """Which of HEAVY and OTHER_COMMANDS a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {HEAVY + OTHER_COMMANDS!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_package():
    assert _loaded("import popsim.cli") == []


def test_importing_popsim_loads_no_heavy_package():
    assert _loaded("import popsim") == []


def test_run_without_out_loads_only_what_it_needs():
    """`popsim run` parses, simulates and prints its table without pandas, Matplotlib,
    the other subcommands' modules or SciPy beyond what Numba imports."""
    code = (
        "import contextlib, io\nfrom popsim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['run', 'japanese_two_founders', '--replicates', '2', "
        "'--generations', '2']) == 0"
    )
    assert _loaded(code) == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(["--no-figures"], []), ([], ["matplotlib", "popsim.outputs.figures"])],
)
def test_run_with_out_writes_its_tables_without_pandas(extra, expected, tmp_path):
    """`popsim run --out` writes its CSV tables without pandas (0.3 s of imports), and
    Matplotlib only for the figures."""
    out = tmp_path / "out"
    code = (
        "import contextlib, io\nfrom popsim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['run', 'japanese_two_founders', '--replicates', '2', "
        f"'--generations', '2', '--out', {str(out)!r}, *{extra!r}]) == 0"
    )
    assert _loaded(code) == expected
    assert (out / "final.csv").is_file()


@pytest.mark.parametrize("words", [["--help"], ["--he"], ["--debug", "--help"], ["nonsense"]])
def test_top_level_help_and_errors_still_list_every_command(words, capsys):
    from popsim.cli import COMMANDS, main

    with pytest.raises(SystemExit):
        main(words)
    captured = capsys.readouterr()
    assert all(name in captured.out + captured.err for name in COMMANDS)


def test_one_command_parser_parses_like_the_full_one():
    from popsim.cli import COMMANDS, build_parser

    words = ["run", "x.toml", "--replicates", "5", "--set", "a.b=1", "--no-figures"]
    assert vars(build_parser("run").parse_args(words)) == vars(build_parser().parse_args(words))
    assert build_parser("run").format_usage() == build_parser().format_usage()
    for name in COMMANDS:  # each subcommand's --help is the same from either parser
        helps = []
        for parser in (build_parser(name), build_parser()):
            out = io.StringIO()
            with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
                parser.parse_args([name, "--help"])
            helps.append(out.getvalue())
        assert helps[0] == helps[1] and name in helps[0]


def test_a_sweep_worker_loads_no_heavy_package():
    """A sweep's pool worker imports ``popsim.workflows.sweep.tasks`` (unpickling its Task) and
    runs the task without pandas: the coordinating process alone builds the table."""
    code = (
        "from popsim.model.build import scenario_from_dict\n"
        "from popsim.workflows.sweep.tasks import Task, run_task\n"
        "scenario = scenario_from_dict({'scenario': {'name': 'w', 'generations': 3, "
        "'replicates': 4}, 'demes': [{'name': 'pop', 'size': 100}], 'locus': "
        "{'founder_alleles': [{'name': 'f', 'deme': 'pop', 'frequency': 0.1}]}})\n"
        "rows = run_task(Task((0,), (scenario,), ('p',), 'pop', True))\n"
        "assert rows[0]['point'] == 0 and 'founder_frequency_mean' in rows[0]"
    )
    assert [m for m in _loaded(code) if m != "popsim.workflows.sweep"] == []


def test_top_level_help_loads_no_heavy_package():
    """`popsim --help` registers every command's parser; no command imports pandas,
    Matplotlib, SciPy's submodules or Dask to do so (they load when it runs)."""
    code = "from popsim.cli import build_parser\nbuild_parser()"
    assert [m for m in _loaded(code) if m in HEAVY] == []
