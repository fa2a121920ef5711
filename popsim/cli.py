"""The ``popsim`` command line: one module per subcommand in :mod:`popsim.commands`.

Each command module defines ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int``. The CLI knows nothing of kernels: commands
call the Python API. A user's mistake (:class:`~popsim.errors.PopsimError`)
prints one line and exits with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from popsim import __version__
from popsim.errors import PopsimError

#: Subcommand modules under popsim.commands, in the order ``popsim --help`` lists them.
COMMANDS = ("run", "expected", "sweep", "fit", "plot", "validate", "compare", "catalog")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="popsim",
        description="Wright–Fisher simulation of founder disease alleles "
        "(endogamous vs outbred populations; GNE myopathy M712T).",
    )
    parser.add_argument("--version", action="version", version=f"popsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"popsim.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        status = int(args.func(args) or 0)
        if status == 130:  # the command handled Ctrl-C itself (e.g. a sweep's resume hint)
            _leave_abandoned_kernel(status)
        return status
    except PopsimError as error:
        if debug:
            raise
        print(f"popsim: error: {error}", file=sys.stderr)
        return error.exit_status
    except BrokenPipeError:  # e.g. `popsim catalog | head`: the reader stopped listening
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if debug:
            raise
        print("popsim: interrupted; nothing was written for the unfinished work", file=sys.stderr)
        _leave_abandoned_kernel(130)
        return 130


def _leave_abandoned_kernel(status: int) -> None:
    """Exit at once after Ctrl-C, without interpreter shutdown.

    An interrupted Numba kernel may still run in its worker thread, and Numba's
    parallel thread pool aborts the process ("terminate called without an active
    exception") if the interpreter shuts down after a parallel region was
    interrupted. Everything that is kept has been written, so leave directly.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
