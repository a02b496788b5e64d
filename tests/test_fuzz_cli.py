"""Fuzz every command and file format in process: mutated copies of valid inputs, hostile options.

Each invocation must end without a traceback and within :data:`INVOCATION_S_MAX` seconds, with
exit 0, or 2 with an ``error:`` message naming a field (a line ``  - <field>: <rule>``) and
nothing written: no output file, no ledger file, no ledger row. A command's own "no" (``verify``
finding a broken rule, the ledger rejecting a transfer and recording it) exits 1 and says so.

The inputs are the shipped examples (the built-in circle and home, a scenario and a problem cut
down from them so that a valid mutation still runs in about a second), mutated byte by byte
(invalid UTF-8, truncation, UTF-16, NUL bytes) or structurally (deep nesting, long integers,
NaN, infinities, 1e308, huge or hostile strings, a list for an object, keys dropped or added).
Examples are derandomized (fixed seeds): a failure replays on every machine.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from voltpool.cli import app

runner = CliRunner(env={"VOLTPOOL_DB": None})

INVOCATION_S_MAX = 30
ISSUE_LINE = re.compile(r"^  - \S.*?: \S", re.MULTILINE)
EXAMPLES = int(os.environ.get("VOLTPOOL_FUZZ_EXAMPLES", "40"))
"""Examples per file format (CI: 40); ``VOLTPOOL_FUZZ_EXAMPLES=1000`` explores further."""
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
FEW = settings(FUZZ, max_examples=max(15, EXAMPLES // 3))
"""For the commands whose valid inputs run a simulation (about a second each)."""

# --- the valid inputs ---------------------------------------------------------------------------

PROBLEM: dict[str, Any] = {
    "format_version": 1,
    "name": "fuzz",
    "slot_minutes": 60,
    "site": {"base_load_kw": [1.0, 1.2, 2.5, 3.0, 2.0, 1.0], "import_limit_kw": 12.0},
    "tariff": {
        "import_price_per_kwh": [0.1, 0.1, 0.4, 0.5, 0.3, 0.1],
        "export_price_per_kwh": [0.05, 0.05, 0.3, 0.4, 0.2, 0.05],
        "peak_price_per_kw": 0.1,
    },
    "unmet_penalty_per_kwh": 50.0,
    "vehicles": [
        {
            "id": "ev-1",
            "capacity_kwh": 40,
            "soc_initial": 0.5,
            "soc_min": 0.2,
            "soc_max": 0.9,
            "soc_target": 0.8,
            "arrival_slot": 0,
            "departure_slot": 6,
            "max_charge_kw": 7.4,
            "max_discharge_kw": 7.4,
            "charge_efficiency": 0.95,
            "discharge_efficiency": 0.95,
            "degradation_cost_per_kwh": 0.03,
        },
        {
            "id": "ev-2",
            "capacity_kwh": 60,
            "soc_initial": 0.3,
            "soc_min": 0.2,
            "soc_max": 1.0,
            "soc_target": 0.6,
            "arrival_slot": 1,
            "departure_slot": 5,
            "max_charge_kw": 11,
            "max_discharge_kw": 0,
            "charge_efficiency": 0.9,
            "discharge_efficiency": 0.9,
        },
    ],
}


def builtin_text(package: str, name: str) -> str:
    return resources.files(package).joinpath(f"builtin/{name}.toml").read_text(encoding="utf-8")


CIRCLE = builtin_text("voltpool.sharing", "friends")
HOME = builtin_text("voltpool.backup", "home")
SCENARIO = """\
name = "fuzz"
description = "two homes, one bidirectional car, one day"
start = "2024-01-15"
days = 1
timezone = "Europe/Amsterdam"
seed = 1
policies = ["smart"]

[homes]
count = 2
annual_kwh = 3000

[vehicles]
count = 1
bidirectional_share = 1.0
soc_min = 0.3
degradation_cost_per_kwh = 0.03

[transformer]
import_limit_kw = 50.0

[battery]
segments = 2
"""


@dataclass(repr=False)
class Inputs:
    """Files made once by the commands themselves: a schedule, a simulation output, a ledger."""

    folder: Path
    schedule: dict[str, Any] = field(default_factory=dict)
    simulation: Path = Path()
    ledger: Path = Path()

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Inputs({self.folder})"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inputs]:
    folder = tmp_path_factory.mktemp("fuzz-inputs")
    before = Path.cwd()
    os.chdir(folder)  # a default output lands here, never in the checkout
    try:
        made = Inputs(folder)
        problem = folder / "problem.json"
        problem.write_text(json.dumps(PROBLEM))
        result = runner.invoke(app, ["schedule", str(problem), "-o", str(folder / "s.json")])
        assert result.exit_code == 0, result.output
        made.schedule = json.loads((folder / "s.json").read_text())
        scenario = folder / "scenario.toml"
        scenario.write_text(SCENARIO)
        made.simulation = folder / "simulated"
        result = runner.invoke(app, ["simulate", str(scenario), "-o", str(made.simulation)])
        assert result.exit_code == 0, result.output
        for path in made.simulation.glob("*.parquet"):  # battery report reads the CSVs then
            path.unlink()
        (made.simulation / "battery_health.csv").unlink()
        made.ledger = folder / "ledger.sqlite"
        url = f"sqlite:///{made.ledger}"
        for args in (
            ["account", "create", "pool", "--owner=community", "--kind=pool"],
            ["account", "create", "alice", "--owner=alice"],
            ["transfer", "seed", "--from=pool", "--to=alice", "--amount=1000"],
        ):
            result = runner.invoke(app, ["ledger", *args, f"--db={url}"])
            assert result.exit_code == 0, result.output
        with closing(sqlite3.connect(made.ledger)) as connection:  # one file, to copy it
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield made
    finally:
        os.chdir(before)


# --- mutations ----------------------------------------------------------------------------------

DEEP = "\x00deep\x00"
LONG_INT = "\x00long-int\x00"
HOSTILE_VALUES: list[Any] = [
    DEEP,
    LONG_INT,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    10**19,
    -1,
    0,
    0.5,
    True,
    "",
    "x" * 1_000_000,
    "ev\x1b[2J\x07",
    "[/bold] [red]",
    "\ud800",
    "2024-02-30T25:61",
    [],
    {},
    [0.0] * 50_000,
]
"""Values put in place of a node of a document (markers become text a serializer cannot make)."""
EDGE_NUMBERS: list[Any] = [-1, 0, 1, 2, 0.0, -0.5, 1e-9, 0.999, 1.5]
"""Small values put in place of a number: valid more often, they reach the code after the
checks (a run that is valid but large would only be slow, so none is here)."""


def paths_of(document: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every node below the root (dict keys and list indices)."""
    if isinstance(document, dict):
        items: Any = document.items()
    elif isinstance(document, list):
        items = enumerate(document[:50])  # the first slots stand for all of them
    else:
        return
    for key, value in items:
        yield (*path, key)
        yield from paths_of(value, (*path, key))


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def mutated_document(draw: st.DrawFn, document: Any) -> Any:
    """A deep copy of ``document`` with one node replaced, wrapped, dropped or one key added."""
    copy = _copy(document)
    paths = list(paths_of(copy))
    numbers = [p for p in paths if type(at(copy, p)) in (int, float)]
    how = draw(st.sampled_from(["edge", "edge", "replace", "replace", "wrap", "drop", "add"]))
    path = draw(st.sampled_from(numbers if how == "edge" and numbers else paths))
    parent, key = at(copy, path[:-1]), path[-1]
    if how == "edge":
        parent[key] = draw(st.sampled_from(EDGE_NUMBERS))
    elif how == "replace":
        parent[key] = draw(st.sampled_from(HOSTILE_VALUES))
    elif how == "wrap":
        parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
    elif how == "drop" and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["unexpected_key", "x" * 300, "\x1b"]))] = 1
    return copy


def _copy(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _copy(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_copy(v) for v in document]
    return document


def json_text(document: Any) -> str:
    text = json.dumps(document)
    return text.replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000).replace(
        json.dumps(LONG_INT), "9" * 5000
    )


def toml_value(value: Any) -> str:
    """One TOML value, inline (tables as inline tables: any document fits on one line each)."""
    if value == DEEP:
        return "[" * 5000 + "]" * 5000
    if value == LONG_INT:
        return "9" * 5000
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, date | datetime | clock_time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_text(document: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in document.items())


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` broken as bytes: invalid UTF-8, cut short, UTF-16, a NUL, noise, or nothing."""
    at_ = draw(st.integers(0, len(data)))
    how = draw(
        st.sampled_from(["invalid", "truncate", "utf-16", "bom", "nul", "noise", "empty", "flip"])
    )
    if how == "invalid":
        return data[:at_] + bytes([draw(st.integers(0x80, 0xFF))]) + data[at_:]
    if how == "truncate":
        return data[:at_]
    if how == "utf-16":
        return data.decode("utf-8").encode("utf-16")
    if how == "bom":
        return b"\xef\xbb\xbf" + data[:at_]
    if how == "nul":
        return data[:at_] + b"\x00" + data[at_:]
    if how == "noise":
        return data[:at_] + draw(st.binary(min_size=1, max_size=64)) + data[at_:]
    if how == "empty":
        return b""
    flipped = bytearray(data)
    if flipped:
        flipped[min(at_, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
    return bytes(flipped)


def file_mutation(text: str, parse: Callable[[str], Any], dump: Callable[[Any], str]):
    """Bytes of a mutated copy of ``text``: half byte-level, half structural."""
    document = parse(text)
    return st.one_of(
        mutated_bytes(text.encode("utf-8")),
        mutated_document(document).map(lambda d: dump(d).encode("utf-8", "surrogatepass")),
    )


def toml_mutation(text: str):
    import tomllib

    return file_mutation(text, tomllib.loads, toml_text)


def json_mutation(document: Any):
    return file_mutation(json.dumps(document), json.loads, json_text)


def safe_name(text: str) -> str:
    """``text`` as a file name inside the workspace (never a path out of it)."""
    name = text.replace("/", "_")
    return name if name.strip(".") else f"_{name}"


NASTY_OPTIONS = [
    "",
    " ",
    "5_000",
    "5e3",
    "0x10",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1",
    "0",
    "1" * 5000,
    "9" * 19,
    "\udcff",
    "a\x1b[2Jb",
    "[/bold]",
    "x" * 1_000_000,
    "[" * 10_000,
    '{"a": NaN}',
    '{"a": "\\udc80"}',
    "٣",
    "2024-13-45",
    "NaT",
    "99:99",
]
"""Values typed where a number, an id, a time or JSON is expected (NUL cannot be in argv)."""
option_values = st.one_of(
    st.sampled_from(NASTY_OPTIONS),
    st.text(st.characters(exclude_characters="\x00"), max_size=30),
)


# --- running and checking -----------------------------------------------------------------------


class Hang(Exception):
    """An invocation ran past :data:`INVOCATION_S_MAX`."""


@contextmanager
def bounded_time(seconds: int = INVOCATION_S_MAX) -> Iterator[None]:
    def stop(_signal: int, _frame: object) -> None:
        raise Hang(f"an invocation ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


TABLES = ("ledger_accounts", "ledger_transfers", "ledger_rejections", "ledger_pending_resolutions")


def ledger_rows(path: Path) -> tuple[int, ...]:
    """Rows of each of the ledger's tables (() when there is no file)."""
    if not path.exists():
        return ()
    with closing(sqlite3.connect(path)) as connection:  # closed: no -wal file left behind
        return tuple(
            connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES
        )


def files_in(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def invoke(
    args: list[str],
    work: Path,
    allowed: frozenset[int] = frozenset({0, 2}),
    ledger: Path | None = None,
) -> Any:
    """Run one command and check the promises; on a refusal nothing in ``work`` changed (no new
    file; the ledger's rows, if any, the same)."""
    rows = ledger_rows(ledger) if ledger else ()
    before = files_in(work)
    start = time.monotonic()
    with bounded_time():
        result = runner.invoke(app, args)
    elapsed = time.monotonic() - start
    shown = result.output[-3000:]
    args = [arg if len(arg) < 200 else f"{arg[:80]}…({len(arg):,} chars)" for arg in args]
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args[:4]}: {type(result.exception).__name__}: {result.exception}\n{shown}"
    )
    assert result.exit_code in allowed, f"{args[:4]} exit {result.exit_code}:\n{shown}"
    assert elapsed < INVOCATION_S_MAX
    if result.exit_code == 2:
        assert "error:" in result.output and ISSUE_LINE.search(result.output), shown
        assert files_in(work) == before, f"{args[:4]} wrote on a refusal:\n{shown}"
        if ledger is not None:
            assert ledger_rows(ledger) == rows, f"{args[:4]} wrote ledger rows:\n{shown}"
    if result.exit_code == 1:
        assert "recorded under id" in result.output or "broken" in result.output, shown
    assert len(result.output) < 200_000, "a refused value was echoed whole"
    return result


@contextmanager
def workspace(inputs: Inputs) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=inputs.folder) as name:
        yield Path(name)


# --- the files ----------------------------------------------------------------------------------


@FUZZ
@given(data=json_mutation(PROBLEM), method=st.sampled_from(["lp", "uncontrolled"]))
def test_schedule_a_mutated_problem(inputs: Inputs, data: bytes, method: str) -> None:
    with workspace(inputs) as work:
        problem = work / "problem.json"
        problem.write_bytes(data)
        out = work / "out" / "schedule.json"
        result = invoke(["schedule", str(problem), "-o", str(out), f"--method={method}"], work)
        assert out.exists() == (result.exit_code == 0)


@FUZZ
@given(data=json_mutation(PROBLEM))
def test_verify_against_a_mutated_problem(inputs: Inputs, data: bytes) -> None:
    with workspace(inputs) as work:
        problem, schedule = work / "problem.json", work / "schedule.json"
        problem.write_bytes(data)
        schedule.write_text(json.dumps(inputs.schedule))
        invoke(["verify", str(problem), str(schedule)], work, frozenset({0, 1, 2}))


@FUZZ
@given(data=st.data())
def test_verify_a_mutated_schedule(inputs: Inputs, data: st.DataObject) -> None:
    mutated = data.draw(json_mutation(inputs.schedule))
    with workspace(inputs) as work:
        problem, schedule = work / "problem.json", work / "schedule.json"
        problem.write_text(json.dumps(PROBLEM))
        schedule.write_bytes(mutated)
        invoke(["verify", str(problem), str(schedule)], work, frozenset({0, 1, 2}))


@FUZZ
@given(data=toml_mutation(SCENARIO))
def test_scenario_show_a_mutated_scenario(inputs: Inputs, data: bytes) -> None:
    with workspace(inputs) as work:
        scenario = work / "scenario.toml"
        scenario.write_bytes(data)
        invoke(["scenario", "show", str(scenario)], work)


@FEW
@given(data=toml_mutation(SCENARIO))
def test_simulate_a_mutated_scenario(inputs: Inputs, data: bytes) -> None:
    with workspace(inputs) as work:
        scenario = work / "scenario.toml"
        scenario.write_bytes(data)
        out = work / "out"
        result = invoke(["simulate", str(scenario), "-o", str(out)], work)
        assert (out / "report.html").exists() == (result.exit_code == 0)


@FUZZ
@given(data=toml_mutation(CIRCLE))
def test_share_check_a_mutated_circle(inputs: Inputs, data: bytes) -> None:
    with workspace(inputs) as work:
        circle = work / "circle.toml"
        circle.write_bytes(data)
        invoke(["share", "check", str(circle)], work)


@FUZZ
@given(data=toml_mutation(CIRCLE))
def test_share_run_a_mutated_circle(inputs: Inputs, data: bytes) -> None:
    with workspace(inputs) as work:
        circle = work / "circle.toml"
        circle.write_bytes(data)
        ledger = work / "ledger.sqlite"
        result = invoke(["share", "run", str(circle), f"--db=sqlite:///{ledger}"], work)
        assert ledger.exists() == (result.exit_code == 0)


@FUZZ
@given(data=toml_mutation(HOME), overload=st.booleans())
def test_backup_a_mutated_home(inputs: Inputs, data: bytes, overload: bool) -> None:
    with workspace(inputs) as work:
        home = work / "home.toml"
        home.write_bytes(data)
        out = work / "plan.html"
        args = ["backup", "run", str(home), "-o", str(out), *(["--overload"] * overload)]
        result = invoke(args, work)
        assert out.exists() == (result.exit_code == 0)
        invoke(["backup", "show", str(home)], work)


@FEW
@given(data=st.data(), name=st.sampled_from(["scenario.toml", "cars.csv", "vehicles_smart.csv"]))
def test_battery_report_on_a_mutated_output_folder(
    inputs: Inputs, data: st.DataObject, name: str
) -> None:
    original = (inputs.simulation / name).read_text(encoding="utf-8")
    if name.endswith(".toml"):
        mutated = data.draw(toml_mutation(original))
    else:
        mutated = data.draw(mutated_bytes(original.encode("utf-8")))
    with workspace(inputs) as work:
        folder = work / "out"
        shutil.copytree(inputs.simulation, folder)
        (folder / name).write_bytes(mutated)
        result = invoke(["battery", "report", str(folder)], work)
        assert (folder / "battery_health.csv").exists() == (result.exit_code == 0)


# --- the options --------------------------------------------------------------------------------

OPTION_COMMANDS: list[tuple[str, Callable[[Path, Path, str], list[str]]]] = [
    (
        "time limit",
        lambda w, p, x: ["schedule", str(p), "-o", str(w / "s.json"), f"--time-limit-s={x}"],
    ),
    ("vehicles", lambda w, p, x: ["example-problem", f"--vehicles={x}", "-o", str(w / "p.json")]),
    (
        "seed",
        lambda w, p, x: ["example-problem", "-n", "2", f"--seed={x}", "-o", str(w / "p.json")],
    ),
    ("output", lambda w, p, x: ["schedule", str(p), f"--output={w / safe_name(x)}"]),
    ("hours", lambda w, p, x: ["backup", "run", f"--hours={x}", "-o", str(w / "b.html")]),
    (
        "grid returns",
        lambda w, p, x: ["backup", "run", f"--grid-returns={x}", "-o", str(w / "b.html")],
    ),
    ("home", lambda w, p, x: ["backup", "run", "-o", str(w / "b.html"), "--", x]),
    ("circle", lambda w, p, x: ["share", "check", "--", x]),
    ("scenario", lambda w, p, x: ["scenario", "show", "--", x]),
    ("pack value", lambda w, p, x: ["battery", "calibrate", "--cell=lfp", f"--pack-value={x}"]),
    ("cell", lambda w, p, x: ["battery", "calibrate", f"--cell={x}", "--pack-value=100"]),
    (
        "segments",
        lambda w, p, x: ["battery", "calibrate", "--cell=nmc", "--pack-value=1", f"--segments={x}"],
    ),
    ("now", lambda w, p, x: ["share", "run", f"--now={x}", f"--db=sqlite:///{w / 'l.sqlite'}"]),
    ("circle name", lambda w, p, x: ["share", "show", "--", x]),
    (
        "demo seed",
        lambda w, p, x: ["schedule-demo", "-n", "2", f"--seed={x}", f"-o={w / 'demo'}"],
    ),
]
LEDGER_COMMANDS: list[tuple[str, Callable[[str], list[str]]]] = [
    ("amount", lambda x: ["transfer", "t-new", "--from=pool", "--to=alice", f"--amount={x}"]),
    (
        "metadata",
        lambda x: [
            "transfer",
            "t-new",
            "--from=pool",
            "--to=alice",
            "--amount=5",
            f"--metadata={x}",
        ],
    ),
    (
        "session",
        lambda x: [
            "transfer",
            "t-new",
            "--from=pool",
            "--to=alice",
            "--amount=5",
            f"--session={x}",
        ],
    ),
    (
        "timeout",
        lambda x: [
            "transfer",
            "t-new",
            "--from=pool",
            "--to=alice",
            "--amount=5",
            "--pending",
            f"--timeout-s={x}",
        ],
    ),
    ("debit", lambda x: ["transfer", "t-new", f"--from={x}", "--to=alice", "--amount=5"]),
    ("transfer id", lambda x: ["transfer", "--from=pool", "--to=alice", "--amount=5", "--", x]),
    ("account id", lambda x: ["account", "create", "--owner=o", "--", x]),
    ("owner", lambda x: ["account", "create", "bob", f"--owner={x}"]),
    ("unit", lambda x: ["account", "create", "bob", "--owner=o", f"--unit={x}"]),
    ("post amount", lambda x: ["post", "p-new", "--pending=seed", f"--amount={x}"]),
    ("balance", lambda x: ["balance", "--", x]),
    ("history limit", lambda x: ["history", "alice", f"--limit={x}"]),
    ("void", lambda x: ["void", "v-new", f"--pending={x}"]),
]


@settings(FUZZ, max_examples=EXAMPLES * 3 // 2)
@given(
    command=st.sampled_from(OPTION_COMMANDS),
    value=option_values,
)
def test_hostile_options(inputs: Inputs, command: tuple[str, Callable], value: str) -> None:
    _name, build = command
    with workspace(inputs) as work:
        problem = work / "problem.json"
        problem.write_text(json.dumps(PROBLEM))
        invoke(build(work, problem, value), work)


@settings(FUZZ, max_examples=EXAMPLES * 3 // 2)
@given(command=st.sampled_from(LEDGER_COMMANDS), value=option_values)
def test_hostile_ledger_options(inputs: Inputs, command: tuple[str, Callable], value: str) -> None:
    _name, build = command
    with workspace(inputs) as work:
        ledger = work / "ledger.sqlite"
        shutil.copy(inputs.ledger, ledger)
        args = ["ledger", f"--db=sqlite:///{ledger}", *build(value)]
        invoke(args, work, frozenset({0, 1, 2}), ledger=ledger)


@FUZZ
@given(value=option_values, where=st.sampled_from(["ledger", "share"]))
def test_hostile_database_urls(inputs: Inputs, value: str, where: str) -> None:
    if value.startswith(("postgres", "sqlite:")):  # a real URL: nothing to refuse
        return
    with workspace(inputs) as work:
        args = (
            ["ledger", f"--db={value}", "verify"]
            if where == "ledger"
            else ["share", "run", f"--db={value}"]
        )
        invoke(args, work)
