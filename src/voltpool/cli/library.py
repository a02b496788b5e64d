"""``list`` and ``show`` for every kind of built-in file, the same way everywhere.

``voltpool scenario list|show``, ``voltpool share list|show`` (circles) and
``voltpool backup list|show`` (homes) are the same two commands over a
:class:`~voltpool.files.toml.TomlLibrary`: ``list`` names each built-in with its description,
``show NAME`` prints a built-in's (or a file's) TOML under one comment line naming the voltpool
version and where it came from, ready to be copied, edited and passed back.

The module is evaluated without ``from __future__ import annotations``: Typer reads the
parameters of the commands made here from their annotations, which name local values.
"""

from collections.abc import Callable
from typing import Annotated

import typer

from voltpool import GENERATOR
from voltpool.cli.common import bad_input, bounded_text, console, shown
from voltpool.files.toml import TomlLibrary
from voltpool.gate import PATH_CHARS_MAX


def name_argument(library: TomlLibrary, group: str) -> object:
    """The argument naming a built-in of ``library`` (listed by ``group list``) or a TOML file
    of its kind."""
    return typer.Argument(
        metavar=library.argument,
        parser=bounded_text(library.argument, PATH_CHARS_MAX),
        help=f"A built-in {library.kind} (`{group} list`) or a path to a {library.kind} "
        ".toml file.",
    )


def add_list_and_show(
    app: typer.Typer,
    group: str,
    library: TomlLibrary,
    describe: Callable[[str], str],
    default: str,
    used_by: str,
) -> None:
    """Register ``list`` and ``show`` on ``app`` (the command ``group``, e.g.
    ``voltpool scenario``) for the built-ins of ``library``.

    ``describe(name)`` loads and validates one file and returns its description; ``used_by`` is
    the command the file is passed to (``voltpool simulate``), named in the help and in the
    copied file's first line.
    """
    kind = library.kind

    def list_command() -> None:
        for name in library.names():
            console.print(f"[bold]{name}[/]: {shown(describe(name))}", highlight=False)

    def show_command(
        name: Annotated[str, name_argument(library, group)] = default,
    ) -> None:
        with bad_input(name):
            text, source = library.text(name)
            describe(name)
        print(f"# {GENERATOR}: {source}; edit it, then `{used_by} FILE`")
        print(text, end="")

    list_command.__doc__ = f"List the built-in {kind}s."
    show_command.__doc__ = (
        f"Print a {kind}'s TOML to copy and edit.\n\nPass the edited file to `{used_by}`."
    )
    app.command("list")(list_command)
    app.command("show")(show_command)
