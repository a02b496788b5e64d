"""What every ``voltpool`` command shares: the consoles, the exit codes and the error messages.

Bad input exits 2 with one message naming each field and the rule it broke (nothing is
written); a solver failure exits 1. Every command wraps its calls in :func:`bad_input` (or, for
an option it checks itself, calls :func:`refuse`), so the message looks the same whether a
file, an option or the ledger found the problem.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from voltpool.control import InvalidPlanError
from voltpool.errors import FieldIssue, ProblemError, SolverError
from voltpool.ledger import InvalidInput, NotFound

console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
COMMAND_LINE = "command line"
"""The source named when an option or argument itself breaks a rule."""
SPINNER_DELAY_S = 1.0


def refuse(source: str, issues: Sequence[FieldIssue]) -> NoReturn:
    """Print the bad-input message (``source``, then each field and its rule) and exit 2."""
    errors.print(
        f"[bold red]error:[/] {source}: {len(issues)} problem(s), nothing written",
        highlight=False,
    )
    for issue in issues:
        errors.print(f"  [red]-[/] [bold]{issue.field}[/]: {issue.rule}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def bad_input(source: str) -> Iterator[None]:
    """Turn bad input raised inside into :func:`refuse`'s message and exit 2.

    ``source`` says where the input came from (a file, a built-in name, ``--db``). Catches
    :class:`~voltpool.errors.ProblemError` and the ledger's ``InvalidInput`` and ``NotFound``
    (each lists its field issues); a :class:`~voltpool.errors.SolverError` exits 1, and so
    does a plan the controller refused to follow (:class:`~voltpool.control.InvalidPlanError`:
    the independent verifier found it breaks a rule, a bug worth reporting).
    """
    try:
        yield
    except (ProblemError, InvalidInput, NotFound) as error:
        issues = error.issues
    except SolverError as error:
        errors.print(f"[bold red]solver error:[/] {error}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except InvalidPlanError as error:
        errors.print(
            f"[bold red]error:[/] a plan failed the independent check (please report it): {error}",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED) from None
    else:
        return
    refuse(source, issues)


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(document, stream, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def spinner_if_slow(message: str, delay_s: float = SPINNER_DELAY_S) -> Iterator[None]:
    """Show a Rich spinner only once the work has taken longer than ``delay_s``."""
    status = console.status(message)
    lock = threading.Lock()
    done = False

    def start() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(delay_s, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
            timer.cancel()
            status.stop()
