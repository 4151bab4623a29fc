# SPDX-License-Identifier: MIT
"""Config and sample-sheet validation: defaults filled, every mistake named by file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from halos_analysis.app.config import load_config, load_samples
from halos_analysis.errors import HalosInputError

HEADER = "name\ttype\tbuffer\tframes\tponi\tmask\tside_table\tconcentration_mg_ml\tdescription\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for name in ("a_001.cbf", "a_002.cbf", "b_001.cbf", "geo.poni"):
        (tmp_path / name).write_text("x")
    return tmp_path


def _sheet(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "samples.tsv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def _config(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_defaults_are_filled(tmp_path):
    cfg = load_config(_config(tmp_path, {"integration": {"npt": 500}}))
    assert cfg["integration"]["npt"] == 500
    assert cfg["integration"]["method"] == "no"
    assert cfg["selection"]["alpha"] == 0.01
    assert cfg["results"] == "results"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"integraton": {}}, "integraton"),
        ({"integration": {"nptt": 3}}, "integration.nptt"),
    ],
)
def test_unknown_key_is_named(tmp_path, data, field):
    path = _config(tmp_path, data)
    with pytest.raises(HalosInputError) as err:
        load_config(path)
    assert err.value.field == field and str(path) in str(err.value)


def test_wrong_type_is_one_line(tmp_path):
    with pytest.raises(HalosInputError) as err:
        load_config(_config(tmp_path, {"integration": {"npt": "many"}}))
    assert "\n" not in str(err.value) and "many" in str(err.value)


def test_sample_sheet_expands_globs_and_links_buffers(files):
    cfg = load_config(_config(files, {"geometry": {"poni": str(files / "geo.poni")}}))
    sheet = _sheet(
        files,
        [
            f"a\tsample\tb\t{files}/a_*.cbf\t\t\t\t2.5\tprotein",
            f"b\tbuffer\t\t{files}/b_001.cbf\t\t\t\t\tbuffer",
        ],
    )
    m = load_samples(sheet, cfg)
    assert list(m) == ["a", "b"]
    assert m["a"].frames == (f"{files}/a_001.cbf", f"{files}/a_002.cbf")
    assert m["a"].concentration_mg_ml == 2.5 and m["a"].poni == str(files / "geo.poni")
    assert m["b"].concentration_mg_ml is None


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        (["a\tsample\tzz\t{d}/a_001.cbf\t{d}/geo.poni\t\t\t\t"], "row 1 buffer"),
        (["a\tsample\t\t{d}/a_001.cbf\t{d}/geo.poni\t\t\t\t"], "row 1 buffer"),
        (["a\tbuffer\t\t{d}/none_*.cbf\t{d}/geo.poni\t\t\t\t"], "row 1 frames"),
        (["a\tbuffer\t\t{d}/a_001.cbf\t{d}/missing.poni\t\t\t\t"], "row 1 poni"),
        (["a\tbuffer\t\t{d}/a_001.cbf\t{d}/geo.poni\t\t\tfive\t"], "row 1 concentration_mg_ml"),
        (["a\tbufer\t\t{d}/a_001.cbf\t{d}/geo.poni\t\t\t\t"], "row 1"),
        (["a\tbuffer\t\t{d}/a_001.cbf\t{d}/geo.poni\t\t\t\t"] * 2, "row 2 name"),
    ],
    ids=["missing-buffer", "no-buffer", "no-frames", "no-poni", "bad-conc", "bad-type", "dup"],
)
def test_sample_sheet_errors_name_row_and_column(files, rows, field):
    cfg = load_config(_config(files, {}))
    sheet = _sheet(files, [r.format(d=files) for r in rows])
    with pytest.raises(HalosInputError) as err:
        load_samples(sheet, cfg)
    assert err.value.field == field, str(err.value)
    assert str(sheet) in str(err.value) and "\n" not in str(err.value)


def test_glob_keeps_the_dataset_and_sorts_frames_naturally(tmp_path):
    # frame_10 must not come before frame_9: damage rejection compares with the first frame.
    for i in (1, 2, 9, 10, 11):
        (tmp_path / f"run_{i}.h5").write_text("x")
        (tmp_path / f"frame_{i}.cbf").write_text("x")
    (tmp_path / "geo.poni").write_text("x")
    cfg = load_config(_config(tmp_path, {"geometry": {"poni": str(tmp_path / "geo.poni")}}))
    sheet = _sheet(
        tmp_path,
        [
            f"s\tsample\tb\t{tmp_path}/run_*.h5::/entry/data/data\t\t\t\t1.0\t",
            f"b\tbuffer\t\t{tmp_path}/frame_*.cbf\t\t\t\t\t",
        ],
    )
    m = load_samples(sheet, cfg)
    order = (1, 2, 9, 10, 11)
    assert m["s"].frames == tuple(f"{tmp_path}/run_{i}.h5::/entry/data/data" for i in order)
    assert m["b"].frames == tuple(f"{tmp_path}/frame_{i}.cbf" for i in order)


def test_one_path_per_cell_with_spaces_quotes_and_brackets(tmp_path):
    # A cell is one value: a path with a space, a quote and a "[" is that file, no glob.
    folder = tmp_path / "it's a [run]"
    folder.mkdir()
    (folder / "frame 1.cbf").write_text("x")
    (tmp_path / "geo.poni").write_text("x")
    cfg = load_config(_config(tmp_path, {"geometry": {"poni": str(tmp_path / "geo.poni")}}))
    sheet = _sheet(tmp_path, [f"b\tbuffer\t\t{folder}/frame 1.cbf\t\t\t\t\t"])
    assert load_samples(sheet, cfg)["b"].frames == (f"{folder}/frame 1.cbf",)


def test_units_sheet_lists_several_files_in_order(tmp_path):
    for i in (1, 2, 3):
        (tmp_path / f"a {i}.cbf").write_text("x")
    (tmp_path / "geo.poni").write_text("x")
    units = tmp_path / "units.tsv"
    units.write_text(f"name\tframes\nb\t{tmp_path}/a 3.cbf\nb\t{tmp_path}/a [12].cbf\n")
    cfg = load_config(
        _config(tmp_path, {"geometry": {"poni": str(tmp_path / "geo.poni")}, "units": str(units)})
    )
    sheet = _sheet(tmp_path, ["b\tbuffer\t\t\t\t\t\t\t"])
    frames = load_samples(sheet, cfg)["b"].frames
    assert frames == tuple(f"{tmp_path}/a {i}.cbf" for i in (3, 1, 2))


def test_several_paths_in_one_cell_point_to_the_units_sheet(files):
    cfg = load_config(_config(files, {"geometry": {"poni": str(files / "geo.poni")}}))
    sheet = _sheet(files, [f"b\tbuffer\t\t{files}/a_001.cbf {files}/a_002.cbf\t\t\t\t\t"])
    with pytest.raises(HalosInputError, match="units sheet") as err:
        load_samples(sheet, cfg)
    assert err.value.field == "row 1 frames"


def test_units_sheet_naming_an_unknown_measurement(files):
    units = files / "units.tsv"
    units.write_text(f"name\tframes\nzz\t{files}/a_001.cbf\n")
    cfg = load_config(
        _config(files, {"geometry": {"poni": str(files / "geo.poni")}, "units": str(units)})
    )
    sheet = _sheet(files, [f"b\tbuffer\t\t{files}/b_001.cbf\t\t\t\t\t"])
    with pytest.raises(HalosInputError, match="zz") as err:
        load_samples(sheet, cfg)
    assert err.value.field == "name" and str(units) in str(err.value)


def test_command_line_text_values_take_the_schema_type(tmp_path):
    from halos_analysis.app.config import validate_config

    # What Snakemake's --config integration={npt: 613} gives: nested values as text.
    cfg = validate_config({"integration": {"npt": "613", "polarization_factor": "null"},
                           "analysis": {"psv_cm3_g": "0.74"}})  # fmt: skip
    assert cfg["integration"]["npt"] == 613 and cfg["integration"]["polarization_factor"] is None
    assert cfg["analysis"]["psv_cm3_g"] == 0.74 and cfg["integration"]["unit"] == "q_nm^-1"
