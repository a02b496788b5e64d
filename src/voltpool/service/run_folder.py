"""Output folders that hold exactly one run: written aside, moved into place when complete.

A run (``voltpool simulate -o DIR``) writes into a fresh hidden folder beside ``DIR``
(``.DIR.partial-<pid>-<random>``) and, only once every file is written, swaps it for ``DIR``:
the previous run is renamed aside, the new one renamed into place, the previous one removed.
So ``DIR`` always holds one complete run (the new one, or the previous one when the run fails
or is killed), never a mix, and a run's ledgers are always new files (a re-run cannot collide
with the previous run's transfers).

``DIR`` may be new, empty, or hold a previous run (it has :data:`MANIFEST`, or the files of a
run made before manifests existed); a folder holding anything else is refused before any work
unless the caller says to replace it. Leftovers of a killed run (a partial folder whose process
is gone) are removed by the next run into the same folder.

Renames are atomic on one file system; between the two renames of a swap (microseconds) a kill
leaves the previous run at ``.DIR.old-...`` and no ``DIR``: the next run removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voltpool import GENERATOR, gate
from voltpool.errors import FieldIssue, ProblemError

MANIFEST = "run.json"
"""The file naming the run a folder holds (its maker, input and files); written last."""
LEGACY_RUN_FILES = ("metrics.csv", "report.html", "scenario.toml")
"""What a run folder held before :data:`MANIFEST` existed."""
_PARTIAL = ".partial-"
_OLD = ".old-"


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` holds a voltpool run (its manifest, or an older run's files)."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(document, dict) and str(document.get("generator", "")).startswith(
            "voltpool"
        )
    return all((folder / name).is_file() for name in LEGACY_RUN_FILES)


def check_run_folder(folder: Path, field: str, replace: bool = False) -> Path:
    """Refuse, before any work, a ``folder`` a run cannot be written to, or one that holds
    something other than a previous run (unless ``replace``): :class:`ProblemError` naming
    ``field``."""
    gate.check_output(folder, field, "folder")
    if replace or not folder.is_dir() or holds_run(folder) or not any(folder.iterdir()):
        return folder
    rule = (
        f"{folder} holds files that are not a voltpool run (no {MANIFEST}): give a new or "
        "empty folder, or --replace to replace what it holds"
    )
    raise ProblemError([FieldIssue(field, rule)])


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """Yield a fresh folder to write a run into; on a normal exit it replaces ``folder``.

    On an exception the fresh folder is removed and ``folder`` is left as it was.
    """
    folder = Path(os.path.abspath(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    staging = Path(
        tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}{_PARTIAL}{os.getpid()}-")
    )
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.chmod(staging, gate.new_folder_mode())
    if not folder.exists():
        os.replace(staging, folder)
        return
    previous = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}{_OLD}"))
    os.replace(folder, previous / folder.name)
    os.replace(staging, folder)
    shutil.rmtree(previous, ignore_errors=True)


def write_manifest(folder: Path, **fields: Any) -> Path:
    """Write :data:`MANIFEST` into ``folder``: the generator, ``fields`` and every file the
    folder holds (relative names, sorted)."""
    files = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    document = {"generator": GENERATOR, **fields, "files": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _remove_leftovers(folder: Path) -> None:
    """Remove what killed runs into ``folder`` left beside it: partial folders whose process
    is gone, and previous runs set aside by an interrupted swap."""
    for path in folder.parent.glob(f".{folder.name}.*"):
        suffix = path.name[len(folder.name) + 1 :]
        if suffix.startswith(_OLD) or (
            suffix.startswith(_PARTIAL) and not _alive(suffix[len(_PARTIAL) :].split("-")[0])
        ):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid_text: str) -> bool:
    """Whether the process numbered ``pid_text`` runs (a malformed number: no)."""
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True
