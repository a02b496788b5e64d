"""What every ``voltpool`` command shares: the consoles, the exit codes and the error messages.

Bad input exits 2 with one message naming each field and the rule it broke (nothing is
written); a solver failure exits 1. Every command wraps its calls in :func:`bad_input` (or, for
an option it checks itself, calls :func:`refuse`), so the message looks the same whether a
file, an option or the ledger found the problem.

Options pass the input gate (:mod:`voltpool.gate`) as they are parsed: numbers through
:func:`decimal` and :func:`whole`, text through :func:`bounded_text` and :func:`database_url`
(each a Typer ``parser``); output paths through :func:`check_output` before any long work.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from voltpool import gate
from voltpool.errors import FieldIssue, ProblemError, SolverError

console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
COMMAND_LINE = "command line"
"""The source named when an option or argument itself breaks a rule."""
SPINNER_DELAY_S = 1.0
URL_CHARS_MAX = 4096
NOW_YEARS = (1970, 2200)
"""Years ``--now`` (and ``plan --date``) may name (within every time type the times pass
through)."""
ISSUES_SHOWN = 50
"""Problems one refusal lists (a document of 50,000 bad values would print for minutes)."""
N = TypeVar("N", int, float)
T = TypeVar("T")
REFUSED_ERRORS = (("voltpool.ledger", "InvalidInput"), ("voltpool.ledger", "NotFound"))
"""Bad input the ledger finds (each lists its field issues), by module and class name."""
PLAN_ERRORS = (("voltpool.control", "InvalidPlanError"),)
"""A plan the controller refused to follow, by module and class name."""


def imported_classes(names: Sequence[tuple[str, str]]) -> tuple[type[BaseException], ...]:
    """The exception classes ``(module, name)`` of the modules already imported: one whose
    module was never imported cannot have been raised, and a command need not import the
    ledger or the controller only to catch their errors."""
    return tuple(
        getattr(sys.modules[module], name) for module, name in names if module in sys.modules
    )


def shown(text: object) -> str:
    """User text for a Rich message: control characters escaped, bounded, markup inert."""
    return escape(gate.printable(str(text)))


def refuse(source: str, issues: Sequence[FieldIssue]) -> NoReturn:
    """Print the bad-input message (``source``, then each field and its rule, at most
    :data:`ISSUES_SHOWN` of them) and exit 2."""
    errors.print(
        f"[bold red]error:[/] {shown(source)}: {len(issues)} problem(s), nothing written",
        highlight=False,
    )
    if len(issues) > ISSUES_SHOWN:
        more = FieldIssue(source, f"{len(issues) - ISSUES_SHOWN:,} more problem(s), not listed")
        issues = [*issues[:ISSUES_SHOWN], more]
    for issue in issues:
        errors.print(
            f"  [red]-[/] [bold]{shown(issue.field)}[/]: {shown(issue.rule)}", highlight=False
        )
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
    except (ProblemError, *imported_classes(REFUSED_ERRORS)) as error:
        issues = error.issues
    except SolverError as error:
        errors.print(f"[bold red]solver error:[/] {shown(error)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except imported_classes(PLAN_ERRORS) as error:
        errors.print(
            "[bold red]error:[/] a plan failed the independent check (please report it): "
            f"{shown(error)}",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED) from None
    else:
        return
    refuse(source, issues)


def decimal(
    field: str, minimum: float | None = None, maximum: float | None = None
) -> Callable[[str | float], float]:
    """A Typer ``parser`` for a number option: plain decimal digits, finite, in range
    (:func:`voltpool.gate.parse_decimal`); anything else exits 2 naming ``field``."""
    return _gated(gate.parse_decimal, field, minimum, maximum)


def whole(
    field: str, minimum: int | None = None, maximum: int | None = None
) -> Callable[[str | int], int]:
    """A Typer ``parser`` for a whole-number option (:func:`voltpool.gate.parse_whole`): no
    ``5_000``, no ``5e3``, at most 18 digits, in range; anything else exits 2."""
    return _gated(gate.parse_whole, field, minimum, maximum)


def _gated(
    parse: Callable[[str, str, N | None, N | None], N],
    field: str,
    minimum: N | None,
    maximum: N | None,
) -> Callable[[str | N], N]:
    def parser(value: str | N) -> N:
        if not isinstance(value, str):  # the option's default, not typed by a user
            return value
        return or_refuse(lambda: parse(value, field, minimum, maximum))

    return parser


def bounded_text(field: str, max_chars: int = gate.NAME_CHARS_MAX) -> Callable[[str], str]:
    """A Typer ``parser`` for a text option or argument: at most ``max_chars`` printable
    characters (no control character, no lone surrogate), else exit 2 naming ``field``."""

    def parser(value: str) -> str:
        return or_refuse(lambda: gate.check_text(value, field, max_chars))

    return parser


def database_url(value: str) -> str:
    """A Typer ``parser`` for ``--db``: a non-empty URL of printable characters (an empty one
    would silently mean the default database)."""
    if not value.strip():
        refuse(
            COMMAND_LINE,
            [FieldIssue("--db", "is empty: give a URL, or leave --db out to use the default")],
        )
    url = or_refuse(lambda: gate.check_text(value, "--db", URL_CHARS_MAX))
    issue = _sqlite_file_issue(url)
    if issue:
        refuse(COMMAND_LINE, [FieldIssue("--db", issue)])
    return url


def _sqlite_file_issue(url: str) -> str | None:
    """What is wrong with a SQLite URL's file place (a folder, or no folder to hold it), before
    the ledger opens it; other URLs are the ledger's to check."""
    from sqlalchemy.engine import make_url  # only where --db is given
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:  # not a URL: the ledger names the rule
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    if path.is_dir():
        return f"{path} is a folder, not a database file"
    if not path.parent.is_dir():
        where = "is a file" if gate.exists(path.parent) else "does not exist"
        return f"the folder {path.parent} {where}: a SQLite ledger needs an existing folder"
    return None


def path_text(field: str) -> Callable[[str], Path]:
    """A Typer ``parser`` for a path option or argument: printable text of at most
    :data:`~voltpool.gate.PATH_CHARS_MAX` characters, else exit 2 naming ``field``."""

    def parser(value: str | Path) -> Path:
        if isinstance(value, Path):  # the option's default
            return value
        return Path(or_refuse(lambda: gate.check_text(value, field, gate.PATH_CHARS_MAX)))

    return parser


def check_output(path: Path, field: str, kind: gate.PathKind = "file") -> Path:
    """Exit 2 naming ``field`` unless ``path`` can be written as a ``kind`` (a file or a folder):
    called before any long work (:func:`voltpool.gate.check_output`)."""
    return or_refuse(lambda: gate.check_output(path, field, kind))


def or_refuse(check: Callable[[], T]) -> T:
    """``check()``'s value; its :class:`~voltpool.errors.ProblemError` exits 2 (the command
    line is the source)."""
    try:
        return check()
    except ProblemError as error:
        refuse(COMMAND_LINE, error.issues)


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename: never a half-written file. The file
    gets the mode a new file gets under the umask (``mkstemp`` alone would make it 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, separators=(",", ":"))
        os.chmod(temporary, gate.new_file_mode())
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
