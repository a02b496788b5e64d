"""The input gate (``voltpool.gate``): each rule, the field path it names, bounded quotes."""

from __future__ import annotations

import ast
import json
import os
import stat
from pathlib import Path

import pytest

from voltpool import gate
from voltpool.errors import ProblemError


def refused(call, *args, **kwargs) -> list[str]:
    """The ``field: rule`` lines of the ProblemError ``call`` raises."""
    with pytest.raises(ProblemError) as caught:
        call(*args, **kwargs)
    return [str(issue) for issue in caught.value.issues]


def test_the_gate_imports_only_the_standard_library_and_the_errors() -> None:
    tree = ast.parse(Path(gate.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.partition(".")[0] if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    voltpool_modules = {name for name in imported if name.startswith("voltpool")}
    assert voltpool_modules == {"voltpool.errors"}
    assert not imported & {"numpy", "pandas", "pydantic", "typer", "rich", "sqlalchemy"}


# --- decoding and files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b'{"a": 1, "b": "\xc3"}', "is not UTF-8 text (byte 0xc3 at offset 15)"),
        (b"\xff\xfe{\x00}\x00", "is UTF-16 text: save it as UTF-8"),
        (b"\xfe\xff\x00{\x00}", "is UTF-16 text"),
        (b"\x89PNG\r\n\x1a\n", "is not UTF-8 text (byte 0x89 at offset 0)"),
        (b"{}\x00", "is not text (a NUL byte at offset 2"),
    ],
)
def test_decode_refuses_what_is_not_utf8_text(data: bytes, rule: str) -> None:
    (line,) = refused(gate.decode, data, "p.json")
    assert line.startswith("p.json: ") and rule in line


def test_decode_drops_a_utf8_byte_order_mark() -> None:
    assert gate.decode(gate.UTF8_BOM + b"{}", "p.json") == "{}"


def test_read_text_refuses_folders_devices_missing_and_large_files(tmp_path: Path) -> None:
    assert "is a folder, not a file" in refused(gate.read_text, tmp_path, "PROBLEM")[0]
    assert "is not a regular file" in refused(gate.read_text, "/dev/zero", "PROBLEM")[0]
    missing = refused(gate.read_text, tmp_path / "nope.json", "PROBLEM")[0]
    assert missing.startswith("PROBLEM: ") and "is not a readable file" in missing
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 101)
    assert "larger than 100 bytes" in refused(gate.read_text, big, "PROBLEM", max_bytes=100)[0]
    assert gate.read_text(big, "PROBLEM", max_bytes=101) == " " * 101


def test_read_text_never_opens_a_pipe(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    assert "is not a regular file" in refused(gate.read_text, pipe, "PROBLEM")[0]


def test_read_text_refuses_a_name_that_is_not_text(tmp_path: Path) -> None:
    (line,) = refused(gate.read_text, tmp_path / "a\udcff.json", "PROBLEM")
    assert "is not printable text" in line and "\\udcff" in line


# --- documents ----------------------------------------------------------------------------------


def test_json_nesting_is_refused_before_the_parser_recurses() -> None:
    (line,) = refused(gate.load_json, "[" * 100_000 + "]" * 100_000, "p.json")
    assert line.startswith("p.json: nests arrays and tables (objects) deeper than 64 levels")
    assert gate.load_json("[" * 64 + "]" * 64, "p.json")
    # brackets inside strings are not nesting
    assert gate.load_json(json.dumps({"a": "[{" * 90}), "p.json") == {"a": "[{" * 90}


def test_toml_nesting_is_refused_without_a_recursion_error() -> None:
    for text in ("a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 100 + "1" + "}" * 100):
        (line,) = refused(gate.load_toml, text, "s.toml")
        assert line.startswith("s.toml: nests arrays and tables (objects) deeper than 64")
    (line,) = refused(gate.load_toml, "a" + ".a" * 100 + " = 1", "s.toml")  # dotted keys
    assert "deeper than 64" in line


def test_long_integers_are_refused_with_their_path() -> None:
    lines = refused(gate.load_json, '{"v": [{"seed": ' + "9" * 5000 + "}]}", "p.json")
    assert lines == ["v[0].seed: is an integer of 5,000 digits; at most 18"]
    assert refused(gate.load_toml, "seed = " + "9" * 5000, "s.toml") == [
        "s.toml: holds an integer of more than 18 digits"
    ]
    assert refused(gate.load_toml, "seed = " + "9" * 19, "s.toml")[0].startswith("seed: is an")
    assert gate.load_json('{"seed": ' + "9" * 18 + "}", "p.json") == {"seed": 10**18 - 1}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_json_non_finite_numbers_are_refused_with_their_path(literal: str) -> None:
    text = '{"vehicles": [{"soc": [0.5, LITERAL]}]}'.replace("LITERAL", literal)
    (line,) = refused(gate.load_json, text, "s.json")
    assert line.startswith("vehicles[0].soc[1]: ") and "not a finite number" in line


@pytest.mark.parametrize("literal", ["inf", "-inf", "nan", "+nan"])
def test_toml_non_finite_numbers_are_refused(literal: str) -> None:
    (line,) = refused(gate.load_toml, f"[homes]\nannual_kwh = {literal}\n", "s.toml")
    assert line.startswith("homes.annual_kwh: ") and "not a finite number" in line


def test_numbers_are_bounded_by_the_unit_their_key_names() -> None:
    document = {
        "site": {"base_load_kw": [1.0, 1e308], "import_limit_kw": 999_999},
        "vehicles": [{"capacity_kwh": 2e7, "degradation_cost_per_kwh": 1e7, "seed": 10**17}],
        "tariff": {"peak_price_per_kw": -2e6},
        "objective": 2e15,
    }
    lines = refused(gate.check_document, document, "p.json")
    assert lines == [
        "site.base_load_kw[1]: 1e+308 is beyond ±1e+06, the limit for a power [kW] (1 GW)",
        "vehicles[0].capacity_kwh: 20000000.0 is beyond ±1e+07, the limit for an energy [kWh]"
        " (10 GWh)",
        "vehicles[0].degradation_cost_per_kwh: 10000000.0 is beyond ±1e+06, the limit for a"
        " price or cost per kWh",
        "tariff.peak_price_per_kw: -2000000.0 is beyond ±1e+06, the limit for a price per kW",
        "objective: 2000000000000000.0 is beyond ±1e+15, the limit for a number without a unit",
    ]


def test_strings_are_bounded_and_free_of_control_characters_and_surrogates() -> None:
    document = {
        "vehicles": [{"id": "x" * 10_000_000}, {"id": "ev\x1b[31m"}, {"id": "\ud800"}],
        "description": "line one\nline two\twith a tab",
        "name": "two\nlines",
    }
    lines = refused(gate.check_document, document, "p.json")
    assert lines[0] == (
        "vehicles[0].id: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…(10,000,000 chars) is "
        "10,000,000 characters long; at most 200"
    )
    assert lines[1].startswith("vehicles[1].id: 'ev\\x1b[31m' holds a control character: U+001B")
    assert lines[2].startswith("vehicles[2].id: '\\ud800' holds a lone surrogate")
    assert lines[3].startswith("name: 'two\\nlines' holds a control character: U+000A")
    assert len(lines) == 4  # free text may hold line breaks and tabs
    assert "description" not in " ".join(lines)
    assert "at most 4,000" in refused(gate.check_document, {"description": "x" * 5000}, "p")[0]


def test_keys_are_checked_like_names() -> None:
    (line,) = refused(gate.check_document, {"site": {"k" * 300: 1}}, "p.json")
    assert line.startswith("site: key 'kkkk") and "at most 200" in line


def test_arrays_and_objects_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(gate, "ITEMS_MAX", 10)
    lines = refused(
        gate.check_document, {"a": list(range(11)), "b": dict.fromkeys("abcdefghijk")}, "p"
    )
    assert lines == ["a: has 11 items; at most 10", "b: has 11 keys; at most 10"]


def test_a_year_of_slots_and_a_large_fleet_pass() -> None:
    year = {"site": {"base_load_kw": [1.5] * 35_040}, "tariff": {"price": [0.2] * 35_040}}
    gate.check_document(year, "p.json")
    fleet = {"vehicles": [{"id": f"ev-{n}", "capacity_kwh": 60} for n in range(20_000)]}
    gate.check_document(fleet, "p.json")


def test_many_issues_are_listed_up_to_a_bound() -> None:
    lines = refused(gate.check_document, {"soc": [float("nan")] * 1000}, "s.json")
    assert len(lines) == gate.ISSUES_MAX + 1
    assert lines[-1] == "s.json: 980 more problem(s) like these, not listed"


def test_a_root_prefix_names_a_command_line_document() -> None:
    (line,) = refused(gate.load_json, '{"note": "\\udc80"}', "--metadata", root="--metadata")
    assert line.startswith("--metadata.note: ")
    assert refused(gate.load_json, "{", "--metadata", root="--metadata")[0].startswith(
        "--metadata: is not valid JSON"
    )


def test_shipped_inputs_pass_the_gate() -> None:
    from importlib import resources

    for package in ("voltpool.scenario", "voltpool.sharing", "voltpool.backup"):
        for path in resources.files(package).joinpath("builtin").iterdir():
            if path.name.endswith(".toml"):
                gate.load_toml(path.read_text(encoding="utf-8"), path.name)
    for name in ("problem-v1", "schedule-v1"):
        text = resources.files("voltpool").joinpath(f"schemas/{name}.schema.json").read_text()
        gate.load_json(text, name)


# --- quoting ------------------------------------------------------------------------------------


def test_quote_is_bounded_whatever_the_value() -> None:
    assert gate.quote("short") == "'short'"
    assert gate.quote("y" * 100) == f"'{'y' * 40}'…(100 chars)"
    assert gate.quote("\x1b[2J") == "'\\x1b[2J'"
    assert gate.quote(10**5000) == "an integer of about 5,001 digits"
    assert gate.quote([0] * 35_040) == "an array of 35,040 items"
    assert gate.quote({"a": 1}) == "an object of 1 key"
    assert gate.quote(1e308) == "1e+308"
    assert gate.quote(float("nan")) == "nan"


def test_printable_escapes_control_characters_and_bounds_the_length() -> None:
    assert gate.printable("a\x1bb\nc\udcff") == "a\\x1bb\\nc\\udcff"
    assert gate.printable("z" * 5000, chars=10) == "zzzzzzzzzz…(5,000 chars)"


# --- command-line values ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["5_000", "5e3", "5.0", "0x10", "", " ", "nan", "1" * 19, "٣"])
def test_parse_whole_takes_plain_decimal_digits_only(text: str) -> None:
    (line,) = refused(gate.parse_whole, text, "--amount")
    assert line.startswith("--amount: ")


def test_parse_whole_bounds() -> None:
    assert gate.parse_whole(" 5000 ", "--amount") == 5000
    assert gate.parse_whole("-3", "--x") == -3
    assert refused(gate.parse_whole, "0", "--vehicles", 1, 100_000) == [
        "--vehicles: 0 must be in 1..100,000"
    ]


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1_000.5", "1e400", "0x1p3", "1,5"])
def test_parse_decimal_refuses_non_finite_and_non_decimal(text: str) -> None:
    (line,) = refused(gate.parse_decimal, text, "--hours")
    assert line.startswith("--hours: ")


def test_parse_decimal_bounds() -> None:
    assert gate.parse_decimal("1e3", "--x") == 1000.0
    assert gate.parse_decimal("-.5", "--x") == -0.5
    assert refused(gate.parse_decimal, "1e308", "--x") == ["--x: 1e+308 must be in -1e+15..1e+15"]
    assert refused(gate.parse_decimal, "-1", "--x", 0.0, 1.0) == ["--x: -1 must be in 0..1"]


def test_check_text() -> None:
    assert gate.check_text("alice", "--owner") == "alice"
    assert "at most 200" in refused(gate.check_text, "a" * 201, "--owner")[0]
    assert "lone surrogate" in refused(gate.check_text, "\udcff", "--owner")[0]
    assert gate.check_text("a" * 4000, "CIRCLE", 4096)


# --- outputs ------------------------------------------------------------------------------------


def test_check_output_refuses_the_wrong_kind_and_unwritable_places(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    file = tmp_path / "f.json"
    file.write_text("{}")
    assert "is a folder; give a file name" in refused(gate.check_output, folder, "-o", "file")[0]
    assert "is a file; give a folder" in refused(gate.check_output, file, "-o", "folder")[0]
    under_file = refused(gate.check_output, file / "x" / "y.json", "-o", "file")[0]
    assert "f.json is a file, not a folder" in under_file
    assert "cannot write in /proc" in refused(gate.check_output, "/proc/x", "-o", "folder")[0]
    assert gate.check_output(tmp_path / "new" / "deeper" / "s.json", "-o", "file")
    assert gate.check_output(folder, "-o", "folder") == folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.json"]  # the probe is gone


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_output_refuses_a_read_only_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        assert "cannot write in" in refused(gate.check_output, tmp_path / "s.json", "-o", "file")[0]
    finally:
        tmp_path.chmod(0o700)


def test_new_file_mode_follows_the_umask() -> None:
    old = os.umask(0o027)
    try:
        assert gate.new_file_mode() == 0o640
        assert stat.S_IMODE(gate.new_file_mode()) == 0o640
    finally:
        os.umask(old)
