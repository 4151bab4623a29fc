# SPDX-License-Identifier: MIT
"""Configs and sample sheets from someone else: read as data, never run; their paths kept to
the declared folders; a bad row refused alone, the rest of the run processed.

Fast tests of :func:`halos_analysis.app.config.load_samples` and
:func:`~halos_analysis.app.config.read_config_file`, static checks of the source (no eval/exec,
no shell strings from user values, YAML loaded safely), and one workflow run of a sheet
full of bad rows (slow).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from small_workflow import DATA, make_small_example, row, run_workflow

from halos_analysis.app.config import (
    MAX_CONFIG_BYTES,
    load_samples,
    read_config_file,
    validate_config,
)
from halos_analysis.errors import HalosInputError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "name\ttype\tbuffer\tframes\tponi\n"


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    """A working folder with data/ (two frames and a PONI per measurement), an outside/
    folder with the same, and symbolic links from data/ to outside/."""
    for top in ("data", "outside"):
        for m in ("bsa", "buf"):
            (tmp_path / top / m).mkdir(parents=True)
            for k in range(2):
                (tmp_path / top / m / f"f_{k}.cbf").write_bytes(b"x")
        (tmp_path / top / "geom.poni").write_text("Distance: 1\n")
        (tmp_path / top / "side.tsv").write_text("frame\tmonitor\n")
    (tmp_path / "data" / "link.poni").symlink_to(tmp_path / "outside" / "geom.poni")
    (tmp_path / "data" / "linkdir").symlink_to(tmp_path / "outside" / "bsa")
    monkeypatch.chdir(tmp_path)
    return tmp_path


GOOD = (
    "bsa\tsample\tbuf\tdata/bsa/*.cbf\tdata/geom.poni\n"
    "buf\tbuffer\t\tdata/buf/*.cbf\tdata/geom.poni\n"
)


def _load(project: Path, extra: str, data_dir: str | None = "data", **config):
    sheet = project / "samples.tsv"
    sheet.write_text(HEADER + GOOD + extra)
    cfg = validate_config({"samples": str(sheet), "data_dir": data_dir, **config})
    errors: list[HalosInputError] = []
    return load_samples(sheet, cfg, errors=errors), errors


def _r(name: str, frames: str = "data/bsa/*.cbf", poni: str = "data/geom.poni",
       buffer: str = "buf", kind: str = "sample") -> str:  # fmt: skip
    return f"{name}\t{kind}\t{buffer}\t{frames}\t{poni}\n"


OUTSIDE = "{project}/outside"
# (id, extra rows, words in each refused row's error; one list per refused row)
SHEET_CASES = [
    ("missing buffer", _r("lost", buffer="nobuffer"), [["row 3 buffer", "nobuffer"]]),
    ("duplicate names", _r("twin") + _r("twin"),
     [["row 3 name", "rows 3 and 4"], ["row 4 name", "rows 3 and 4"]]),
    ("name with ../", _r("../evil"), [["row 3 name", "'../evil'", "cannot be a file name"]]),
    ("absolute name", _r("/tmp/evil"), [["row 3 name", "cannot be a file name"]]),
    ("name with spaces", _r("my sample"), [["row 3 name", "'my sample'"]]),
    ("name with quotes", _r('say"hi"'), [["row 3 name", "cannot be a file name"]]),
    ("name with a quote", _r("it's"), [["row 3 name", "cannot be a file name"]]),
    ("shell ;", _r("a;touch PWNED"), [["row 3 name", "cannot be a file name"]]),
    ("shell $()", _r("$(touch PWNED)"), [["row 3 name", "cannot be a file name"]]),
    ("shell backticks", _r("`touch PWNED`"), [["row 3 name", "cannot be a file name"]]),
    ("buffer of a refused row", _r("b;2", kind="buffer", buffer="") + _r("s2", buffer="b;2"),
     [["row 3 name"], ["row 4 buffer", "'b;2'"]]),
    ("frames outside data_dir", _r("abs", frames=OUTSIDE + "/bsa/*.cbf"),
     [["row 3 frames", "outside the declared folder data"]]),
    ("frames via ..", _r("dots", frames="data/../outside/bsa/*.cbf"),
     [["row 3 frames", "outside the declared folder"]]),
    ("PONI symlink out", _r("lnk", poni="data/link.poni"),
     [["row 3 poni", "resolves to", "outside/geom.poni"]]),
    ("glob through a symlinked folder", _r("lnkdir", frames="data/linkdir/*.cbf"),
     [["row 3 frames", "outside"]]),
    ("PONI outside", _r("p", poni=OUTSIDE + "/geom.poni"), [["row 3 poni", "outside"]]),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "expected"), [c[1:] for c in SHEET_CASES],
                         ids=[c[0] for c in SHEET_CASES])  # fmt: skip
def test_a_bad_row_is_refused_alone(project, extra, expected):
    out, errors = _load(project, extra.replace("{project}", str(project)))
    assert {"bsa", "buf"} <= set(out)
    assert len(errors) == len(expected), [str(e) for e in errors]
    for exc, words in zip(errors, expected, strict=True):
        text = str(exc)
        assert "samples.tsv" in text and "\n" not in text
        for word in words:
            assert word in text, text
    assert not (project / "PWNED").exists()


def test_without_data_dir_absolute_paths_are_used_as_given(project):
    out, errors = _load(project, _r("abs", frames=f"{project}/outside/bsa/*.cbf"), data_dir=None)
    assert not errors and len(out["abs"].frames) == 2


def test_strict_reading_raises_the_first_bad_row(project):
    sheet = project / "samples.tsv"
    sheet.write_text(HEADER + GOOD + _r("../evil"))
    with pytest.raises(HalosInputError, match=r"\[row 3 name\]"):
        load_samples(sheet, validate_config({"samples": str(sheet)}))


def test_every_row_refused_stops_the_run(project):
    sheet = project / "samples.tsv"
    sheet.write_text(HEADER + _r("../a") + _r("../b"))
    with pytest.raises(HalosInputError, match=r"\[row 1 name\]"):
        load_samples(sheet, validate_config({"samples": str(sheet)}), errors=[])


def test_cache_dir_must_stay_in_results_when_data_dir_is_set(project):
    with pytest.raises(HalosInputError, match="integration.cache_dir"):
        _load(project, "", integration={"cache_dir": "/tmp/elsewhere"})
    out, errors = _load(project, "", integration={"cache_dir": "results/.cache"})
    assert not errors


# --- config files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("results: !!python/object/apply:os.system ['touch PWNED']\n", ["python/object/apply"]),
        ("a: !!python/name:os.system\n", ["python/name"]),
        ("__use_yte__: true\nresults: ?__import__('os').system('touch PWNED')\n", ["YTE"]),
        ("- a\n- b\n", ["list"]),
        ("key: [unclosed\n", ["not plain YAML"]),
        (b"\xff\xfe results: r\n", ["not UTF-8"]),
    ],
    ids=["object/apply", "python/name", "yte", "list", "broken", "binary"],
)
def test_config_files_are_read_as_data(tmp_path, monkeypatch, text, words):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(HalosInputError) as err:
        read_config_file(path)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_a_huge_config_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:  # sparse: nothing written but the last byte
        fh.seek(100 * 2**20)
        fh.write(b"\n")
    with pytest.raises(HalosInputError, match="bytes; more than"):
        read_config_file(path)
    assert path.stat().st_size > MAX_CONFIG_BYTES


def test_the_project_config_reads(tmp_path):
    assert read_config_file(ROOT / "config" / "config.yaml")["results"] == "results"


# --- the source itself -------------------------------------------------------------------

_CODE = [*sorted((ROOT / "halos_analysis").rglob("*.py")),
         *sorted((ROOT / "workflow").rglob("*.smk")), ROOT / "workflow" / "Snakefile"]  # fmt: skip
_FORBIDDEN = re.compile(
    r"\beval\(|\bexec\(|os\.system\(|os\.popen\(|shell\s*=\s*True|yaml\.load\(|yaml\.unsafe_load"
    r"|FullLoader|UnsafeLoader|pickle\.loads?\(|__import__\("
)


def test_no_eval_exec_or_unsafe_loader_in_the_source():
    hits = []
    for path in _CODE:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if _FORBIDDEN.search(line.split("#", 1)[0]):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, hits


def test_every_value_in_a_rule_shell_is_quoted():
    """Every ``{...}`` of a rule's shell command goes through ``:q`` (a sheet value with
    spaces, quotes or ``;`` stays one argument); only ``{threads}`` (a number) is bare."""
    bare = []
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        in_shell = False
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped == "shell:":
                in_shell = True
                continue
            if in_shell and not stripped.startswith('"'):
                in_shell = False
            if in_shell:
                for field in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", stripped):
                    if not field.endswith(":q") and field != "threads":
                        bare.append(f"{path.name}: {{{field}}}")
    assert not bare, bare


def test_subprocesses_take_argument_lists():
    for path in _CODE:
        text = path.read_text()
        for call in re.findall(r"subprocess\.\w+\(([^,)]*)", text):
            assert not call.strip().startswith(("f\"", "\"", "'")), (path, call)


# --- the workflow ------------------------------------------------------------------------


@pytest.mark.slow
def test_workflow_refuses_bad_rows_and_processes_the_others(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    bad = (
        row("lost", "sample", "nobuffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("../evil", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("a;touch PWNED", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("$(touch PWNED)", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("twin", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("twin", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
        + row("far", "sample", "buffer", "../outside/*.cbf")
        + row("nothere", "sample", "buffer", f"{DATA}/pilatus300k/none/*.cbf")
    )
    # A row whose last frame is cut short: its job fails, the other samples go on.
    bad += row("broken", "sample", "buffer", f"{DATA}/broken/*.cbf")
    work = make_small_example(tmp_path / "work", bad)
    good = sorted((work / DATA / "pilatus300k" / "bsa").glob("*.cbf"))
    (work / DATA / "broken").mkdir()
    for f in good[:-1]:
        (work / DATA / "broken" / f.name).symlink_to(f)
    (work / DATA / "broken" / good[-1].name).write_bytes(good[-1].read_bytes()[:20_000])
    (work / "config" / "config.yaml").write_text(
        (work / "config" / "config.yaml").read_text() + f"data_dir: {DATA}\n"
    )
    run = run_workflow(work)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("halos workflow: error:")]
    refused = [ln for ln in errors if "(row left out)" in ln]
    for n in range(3, 11):  # one line for each bad row, naming the sheet and the row
        assert sum(f"[row {n} " in ln for ln in refused) == 1, (n, refused)
    assert all("config/samples.tsv" in ln for ln in refused)
    assert "8 sample-sheet rows refused" in errors[-1]
    results = work / "results"
    assert (results / "bsa" / "summary.json").is_file() and (results / "bsa" / "bsa.h5").is_file()
    log = (results / "logs" / "validate_raw" / "broken.log").read_text()
    assert good[-1].name in log and "INVALID" in log
    assert not list((results / "broken").glob("*")) if (results / "broken").exists() else True
    made = {p.name for p in results.iterdir() if p.is_dir()}
    assert made <= {"bsa", "buffer", "broken", "logs", ".halos", ".cache"}, made
    assert not list(work.rglob("PWNED")) and not (tmp_path / "evil").exists()
    frame_lists = {p.stem for p in (results / ".halos" / "frames").glob("*.json")}
    assert frame_lists == {"bsa", "buffer", "broken"}
    assert os.listdir(outside) == []
