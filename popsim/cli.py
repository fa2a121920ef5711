"""The ``popsim`` command line: one module per subcommand in :mod:`popsim.commands`.

Each command module defines ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int``. The CLI knows nothing of kernels: commands
call the Python API; the command line as typed reaches them as
``args.command_line`` (``popsim`` and the words, shell-quoted), which they
pass on to the manifests they write. A user's mistake (:class:`~popsim.errors.PopsimError`)
prints one line and exits with status 2; ``--debug`` shows the traceback.

Start-up: when the command line names a subcommand, only that subcommand's
module is imported (``popsim run`` does not load the validation, fit or report
modules, nor SciPy and Matplotlib through them); ``popsim --help`` and a
mistyped command still see every subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import signal
import sys
import threading

from popsim._version import __version__
from popsim.errors import PopsimError, one_line

#: Subcommand modules under popsim.commands, in the order ``popsim --help`` lists them.
COMMANDS = (
    "run", "expected", "sweep", "fit", "plot", "validate", "compare", "risk", "age", "catalog",
    "init",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``popsim`` parser with every subcommand, or with ``command`` alone.

    Registering one subcommand imports only its module; parsing a command line
    that names it gives the same result, help and errors as the full parser.
    """
    parser = argparse.ArgumentParser(
        prog="popsim",
        description="Wright–Fisher simulation of founder disease alleles "
        "(endogamous vs outbred populations; GNE myopathy M712T).",
    )
    parser.add_argument("--version", action="version", version=f"popsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if command is None else (command,):
        importlib.import_module(f"popsim.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    debug = "--debug" in words
    _terminate_like_interrupt()
    try:
        args = build_parser(_named_command(words)).parse_args(argv)
        args.command_line = shlex.join(["popsim", *words])  # recorded in manifests
        status = int(args.func(args) or 0)
        if status == 130:  # the command handled Ctrl-C itself (e.g. a sweep's resume hint)
            _leave_abandoned_kernel(status)
        return status
    except PopsimError as error:
        if debug:
            raise
        print(f"popsim: error: {one_line(str(error))}", file=sys.stderr)
        return error.exit_status
    except BrokenPipeError:  # e.g. `popsim catalog | head`: the reader stopped listening
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # the file system refused (full disk, permissions, /proc, ...)
        if debug:
            raise
        print(f"popsim: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("popsim: interrupted; nothing was written for the unfinished work", file=sys.stderr)
        _leave_abandoned_kernel(130)
        return 130


def describe_os_error(error: OSError) -> str:
    """One line for an OSError: the path(s) it names and the system's reason."""
    reason = error.strerror or str(error) or type(error).__name__
    paths = [str(p) for p in (error.filename, error.filename2) if p is not None]
    text = f"{' -> '.join(paths)}: {reason}" if paths else reason
    return one_line(text)


def _terminate_like_interrupt() -> None:
    """Handle SIGTERM (``kill``, a batch system's time limit) as Ctrl-C: exit 130.

    The handler raises KeyboardInterrupt, so every partial output is removed
    or kept for ``--resume`` as after Ctrl-C. Only in the main thread of the
    process that installed it: a forked child gets the default action back.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def interrupt(signum: int, frame: object) -> None:
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _named_command(words: list[str]) -> str | None:
    """The subcommand that ``words`` runs, if only its parser can be needed.

    None (register them all) when the first word other than ``--debug`` is an
    option, such as ``--help`` or ``--version`` or an abbreviation of them, or
    is not a known subcommand: then the top-level help or the "invalid choice"
    error must list every subcommand.
    """
    for word in words:
        if word != "--debug":
            return word if word in COMMANDS else None
    return None


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
