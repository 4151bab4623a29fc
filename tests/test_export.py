# SPDX-License-Identifier: MIT
"""Plots, summaries, provenance and the self-contained HTML report."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from halos_analysis.export import plots
from halos_analysis.export.provenance import (
    build_provenance,
    check_inputs,
    process_for_nxcansas,
    sha256_file,
    write_provenance,
)
from halos_analysis.export.report import find_plots, write_report
from halos_analysis.export.summary import (
    COLUMNS,
    read_run_summary,
    sample_summary,
    write_pr_table,
    write_run_summary,
    write_sample_summary,
)
from halos_analysis.types import (
    Curve,
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sample(rg: float = 2.5, name: str = "bsa"):
    """A Guinier-like curve (nm^-1) and results consistent with it, built directly."""
    q = np.linspace(0.05, 3.0, 200)
    intensity = 80.0 * np.exp(-((q * rg) ** 2) / 3) + 0.05 * np.exp(-q)
    sigma = 0.01 * intensity + 0.002
    curve = Curve(q, intensity, sigma, "nm^-1", name=name)
    guinier = GuinierResult(
        rg, 0.02, 80.0, 0.3, 2, 30, q[2] * rg, q[30] * rg, "nm^-1", r2=0.998, flags=("few_points",)
    )
    r = np.linspace(0, 3 * rg, 50)
    p = np.sin(np.pi * r / r[-1]) ** 2
    pr = PrResult(
        r[-1],
        0.2,
        rg,
        0.03,
        80.2,
        0.4,
        1.1,
        5.0,
        "nm^-1",
        r,
        p,
        0.05 * p + 0.01,
        q,
        intensity * 1.01,
    )
    mw = MWResult(66.0, 64.0, 105.0, 520.0, "nm^-1", mw_consensus_kda=65.0, mw_spread_kda=1.0)
    x = q * rg
    kratky = KratkyResult(x, x**2 * intensity / 80.0, x**2 * sigma / 80.0, 1.73, 1.10)
    n = 8
    pv = np.full((n, n), 0.6)
    pv[6, :] = pv[:, 6] = 1e-4
    np.fill_diagonal(pv, 1.0)
    sim = SimilarityResult(
        pv, pv, np.zeros((n, n)), 0.01, "holm", (0, 1, 2, 3, 4, 5, 7), {6: "differs from 7 frames"}
    )
    return curve, dict(guinier=guinier, pr=pr, mw=mw, kratky=kratky, similarity=sim)


def _check_images(paths):
    assert {p.suffix for p in paths} == {".png", ".svg"}
    for p in paths:
        assert p.stat().st_size > 2000, p
        assert not p.with_name(p.name + ".part").exists()
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC
        else:
            assert ET.parse(p).getroot().tag.endswith("svg")


def test_each_plot_writes_png_and_svg(tmp_path):
    curve, res = _sample()
    buffer = Curve(curve.q, np.full(len(curve), 0.5), np.full(len(curve), 0.01), "nm^-1")
    _check_images(
        plots.plot_intensity(tmp_path / "iq", subtracted=curve, sample=curve, buffer=buffer)
    )
    _check_images(plots.plot_guinier(tmp_path / "g", curve, res["guinier"]))
    _check_images(plots.plot_kratky(tmp_path / "k", res["kratky"]))
    _check_images(plots.plot_pr(tmp_path / "p", res["pr"], curve))
    _check_images(plots.plot_similarity(tmp_path / "s", res["similarity"], frame_ids=range(10, 18)))
    other, _ = _sample(rg=4.0, name="lys")
    _check_images(
        plots.plot_overview(tmp_path / "o", [("bsa", curve, res["guinier"]), ("lys", other, None)])
    )


def test_guinier_plot_without_a_region_and_png_only(tmp_path):
    curve, _ = _sample()
    none = GuinierResult(
        math.nan,
        math.nan,
        math.nan,
        math.nan,
        0,
        -1,
        math.nan,
        math.nan,
        "nm^-1",
        flags=("no_guinier_region",),
    )
    paths = plots.plot_guinier(tmp_path / "g", curve, none, formats=("png",))
    assert [p.name for p in paths] == ["g.png"]


def test_similarity_plot_marks_rejected_frames(tmp_path):
    _, res = _sample()
    svg = plots.plot_similarity(tmp_path / "s", res["similarity"], formats=("svg",))[0]
    assert "rejected" in svg.read_text()
    assert "7/8 kept" in svg.read_text() or "7/8" in svg.read_text()


def test_summary_fields_csv_and_json(tmp_path):
    curve, res = _sample()
    s = sample_summary("bsa", buffer="PBS", concentration_mg_ml=4.5, flags=("aggregation",), **res)
    assert (s["guinier_rg"], s["guinier_rg_error"], s["guinier_i0"]) == (2.5, 0.02, 80.0)
    assert (s["pddf_dmax"], s["pddf_rg"], s["porod_volume"]) == (7.5, 2.5, 105.0)
    assert s["guinier_points"] == 29 and s["length_unit"] == "nm"
    assert (s["frames_total"], s["frames_used"], s["frames_rejected"]) == (8, 7, 1)
    assert s["frames_rejected_ids"] == [6]
    assert s["experimental_mw"] == 65.0 and s["guinier_i0_mw"] is None  # NaN -> None
    assert (s["porod_mw"], s["vc_mw"]) == (66.0, 64.0)
    assert s["flags"] == ["aggregation", "few_points"]
    # few_points casts doubt on the Guinier result; the P(r) has no flag of its own.
    assert (s["guinier_valid"], s["pddf_valid"]) == (False, True)
    assert s["doubts"] == ["aggregation", "few_points"]

    write_sample_summary(s, tmp_path / "bsa" / "summary.json")
    assert json.loads((tmp_path / "bsa" / "summary.json").read_text())["guinier_rg"] == 2.5

    lys = sample_summary("lys")  # a sample whose analysis failed: empty cells, not "nan"
    csv_path, json_path = write_run_summary(
        [s, lys], tmp_path / "summary.csv", tmp_path / "summary.json"
    )
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["sample"] == "bsa" and float(rows[0]["guinier_rg"]) == 2.5
    assert rows[0]["flags"] == "aggregation;few_points"
    assert rows[0]["doubts"] == "aggregation;few_points" and rows[0]["guinier_valid"] == "False"
    assert rows[1]["guinier_rg"] == "" and "nan" not in csv_path.read_text().lower()
    assert [r["sample"] for r in read_run_summary(json_path)] == ["bsa", "lys"]
    assert not list(tmp_path.glob("*.part"))


def test_pr_table_reads_back(tmp_path):
    _, res = _sample()
    path = write_pr_table(res["pr"], tmp_path / "bsa_pr.dat")
    text = path.read_text()
    assert "Dmax: 7.5" in text and "r in nm" in text
    table = np.loadtxt(path)
    np.testing.assert_allclose(table[:, 0], res["pr"].r, rtol=1e-7)
    np.testing.assert_allclose(table[:, 1], res["pr"].pr, rtol=1e-7, atol=1e-12)


def test_provenance_hashes_versions_and_changes(tmp_path):
    data = tmp_path / "frame.cbf"
    data.write_bytes(b"frame bytes")
    prov = build_provenance(
        [data, tmp_path / "gone.cbf"],
        config={"npt": 500},
        config_text="npt: 500\n",
        command=["halos", "run"],
    )
    # Each digest is named by its algorithm (RO-Crate / W3C PROV style).
    assert prov["inputs"][0] == {
        "path": str(data),
        "sha256": hashlib.sha256(b"frame bytes").hexdigest(),
        "bytes": 11,
    }
    assert prov["missing_inputs"] == [str(tmp_path / "gone.cbf")]
    assert prov["command"] == "halos run" and prov["config"] == {"npt": 500}
    for name in ("numpy", "scipy", "h5py", "pyFAI", "matplotlib"):
        assert prov["dependencies"][name], name
    assert check_inputs(prov)[str(data)] == "same"
    data.write_bytes(b"other bytes")
    assert check_inputs(prov)[str(data)] == "changed"
    assert sha256_file(data) == hashlib.sha256(b"other bytes").hexdigest()
    out = write_provenance(prov, tmp_path / "provenance.json")
    assert json.loads(out.read_text())["inputs"] == prov["inputs"]

    from halos_analysis.io.nxcansas import read_results, write_sample_result

    curve, res = _sample()
    h5 = write_sample_result(
        tmp_path / "bsa.h5", subtracted=curve, process=process_for_nxcansas(prov), **res
    )
    back = read_results(h5)
    assert back["config_text"] == "npt: 500\n"
    assert back["provenance"]["inputs"] == prov["inputs"]


@pytest.fixture
def report(tmp_path):
    names = ["bsa", "lys <2>"]
    summaries, figures, overview = [], {}, []
    samples = []
    for i, name in enumerate(names):
        curve, res = _sample(rg=2.5 + i, name=name)
        samples.append((name, curve, res["guinier"]))
        summaries.append(sample_summary(name, concentration_mg_ml=2.0 + i, **res))
        d = tmp_path / f"s{i}"
        plots.plot_guinier(d / "x_guinier", curve, res["guinier"], formats=("png",))
        plots.plot_kratky(d / "x_kratky", res["kratky"], formats=("svg",))
        plots.plot_similarity(d / "x_similarity", res["similarity"], formats=("png",))
        figures[name] = find_plots(d, "x")
    overview = plots.plot_overview(tmp_path / "overview", samples, formats=("png",))
    prov = build_provenance([], config_text="samples: config/samples.tsv\n", command="halos run")
    path = write_report(
        tmp_path / "results" / "report.html",
        summaries,
        plots=figures,
        overview=overview,
        provenance=prov,
    )
    return path, figures


def test_report_is_self_contained(report):
    path, figures = report
    text = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "<link" not in text and "<script" not in text
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', text)
    n_png = sum(p.suffix == ".png" for f in figures.values() for p in f.values()) + 1
    assert len(imgs) == n_png
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    assert text.count("<svg") == 2  # the Kratky plots, inline
    assert "lys &lt;2&gt;" in text and "lys <2>" not in text  # names are escaped
    assert "samples: config/samples.tsv" in text  # the config, in the provenance section
    assert "numpy" in text


def test_report_of_a_large_run_links_the_figures_beyond_its_size_budget(tmp_path):
    # A shift's run of hundreds of samples: the page stays under its budget, the figures
    # of the later samples are linked relative to the page and the page says from where on.
    curve, res = _sample(rg=3.0, name="s")
    d = tmp_path / "results" / "s" / "plots"
    png = plots.plot_guinier(d / "s_guinier", curve, res["guinier"], formats=("png",))[0]
    names = [f"s{i:02d}" for i in range(30)]
    summaries = [sample_summary(n, **res) for n in names]
    figures = {n: {"guinier": png} for n in names}
    budget = 6.5 * png.stat().st_size * 1.37 / 1e6  # room for about six figures
    path = write_report(
        tmp_path / "results" / "report.html", summaries, plots=figures, embed_budget_mb=budget
    )
    text = path.read_text()
    embedded = re.findall(r'<img[^>]*src="data:image/png', text)
    linked = re.findall(r'<img[^>]*src="(s/plots/s_guinier.png)"', text)
    assert 4 <= len(embedded) <= 6 and len(embedded) + len(linked) == len(names)
    assert len(text) < budget * 1e6 + 50_000  # tables and text besides the figures
    first = names[len(embedded)]
    assert f"from sample {first} on are linked" in text
    # Within the budget nothing is linked.
    small = write_report(tmp_path / "r2.html", summaries[:3], plots=figures)
    assert "are linked" not in small.read_text()


def test_overview_of_many_samples_colours_by_order(tmp_path):
    curve, res = _sample(rg=3.0, name="s")
    many = [(f"s{i}", curve, res["guinier"]) for i in range(plots.MAX_LEGEND_ENTRIES + 5)]
    out = plots.plot_overview(tmp_path / "o", many, formats=("svg",))
    text = out[0].read_text()
    assert "colour: first" in text and "s24" not in text  # no legend entry per sample
    few = plots.plot_overview(tmp_path / "f", many[:3], formats=("svg",))
    assert "s2" in few[0].read_text()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(report, tmp_path):
    path, _ = report
    # A copy with a probe script that writes, once loaded, how many images decoded.
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load',()=>{const im=[...document.images];"
        "document.title='IMAGES '+im.length+' DECODED '+"
        "im.filter(i=>i.complete&&i.naturalWidth>0).length+' SVG '+"
        "document.querySelectorAll('svg').length;});</script></body>"
    )
    probe.write_text(path.read_text().replace("</body>", script))
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    dom = subprocess.run(
        common
        + [
            f"--user-data-dir={tmp_path / 'profile1'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    m = re.search(r"<title>IMAGES (\d+) DECODED (\d+) SVG (\d+)</title>", dom)
    assert m, dom[:500]
    n_img, n_ok, n_svg = map(int, m.groups())
    assert n_img == n_ok == 5 and n_svg == 2

    shot = tmp_path / "shot.png"
    subprocess.run(
        common
        + [
            f"--user-data-dir={tmp_path / 'profile2'}",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    # Not blank: plots put many distinct colours on the page.
    assert pixels[..., :3].std() > 0.05
    assert len(np.unique((pixels[..., :3] * 255).astype(int).reshape(-1, 3), axis=0)) > 50


def test_compare_results_finds_changed_numbers(tmp_path):
    from halos_analysis.export.provenance import compare_results
    from halos_analysis.io.nxcansas import write_sample_result

    curve, res = _sample()
    a = write_sample_result(tmp_path / "a.h5", subtracted=curve, **res)
    b = write_sample_result(tmp_path / "b.h5", subtracted=curve, **res)
    assert compare_results(a, b) == []
    g = res["guinier"]
    moved = GuinierResult(
        g.Rg * 1.01,
        g.Rg_err,
        g.I0,
        g.I0_err,
        g.first,
        g.last + 1,
        g.qRg_min,
        g.qRg_max,
        g.q_unit,
        r2=g.r2,
        flags=g.flags,
    )
    c = write_sample_result(tmp_path / "c.h5", subtracted=curve, **(res | {"guinier": moved}))
    diffs = compare_results(a, c)
    assert any(d.startswith("guinier.Rg:") for d in diffs)
    assert any(d.startswith("guinier.last:") for d in diffs)
    assert not any(d.startswith("pr.") for d in diffs)
    assert compare_results(a, c, rtol=0.05) == [
        "guinier.last: 30 != 31",
        "guinier.n_points: 29 != 30",
    ]


def test_the_parts_of_a_sample_and_of_a_run_write_between_them_what_all_writes(tmp_path):
    """``export_sample``/``export_run`` by part (``halos export/summarise --parts``): data and
    figures, tables and report are disjoint and together write what both at once write;
    the commands offer the same parts and declare the figures the figures part writes."""
    from halos_analysis.analysis.pipeline import SampleAnalysis
    from halos_analysis.app.commands import export as export_cmd
    from halos_analysis.app.commands import summarise as summarise_cmd
    from halos_analysis.export.bundle import RUN_PARTS, SAMPLE_PARTS, export_run, export_sample

    assert export_cmd.SAMPLE_PARTS == SAMPLE_PARTS and summarise_cmd.RUN_PARTS == RUN_PARTS
    curve, res = _sample()
    analysis = SampleAnalysis(curve, res["guinier"], res["pr"], res["mw"], res["kratky"])

    def files(folder):
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    written = {}
    for parts in (("data",), ("figures",), SAMPLE_PARTS):
        out = tmp_path / "+".join(parts) / "bsa"
        export_sample(out, analysis, sample="bsa", similarity=res["similarity"], parts=parts)
        written[parts] = files(out)
        summaries = [out / "summary.json"] if "data" in parts else []
        for run_parts in (("tables",), ("overview",), ("report",), RUN_PARTS) if summaries else ():
            run = out.parent / "+".join(run_parts)
            run.mkdir()
            shutil.copytree(out, run / "bsa")
            analysis_json = json.dumps(analysis.to_dict(), allow_nan=False)
            (run / "bsa" / "bsa_analysis.json").write_text(analysis_json)  # the overview's
            before = set(files(run))
            export_run(run, [run / "bsa" / "summary.json"], parts=run_parts)
            written[run_parts] = sorted(set(files(run)) - before)
    data, figures = written[("data",)], written[("figures",)]
    assert not set(data) & set(figures) and sorted(data + figures) == written[SAMPLE_PARTS]
    assert "summary.json" in data and "bsa.h5" in data and "bsa_pr.dat" in data
    assert set(figures) == {
        f"plots/bsa_{k}.{x}" for k in export_cmd.PLOT_KINDS for x in ("png", "svg")
    }
    assert written[("tables",)] == ["summary.csv", "summary.json"]
    assert written[("overview",)] == ["overview.png", "overview.svg"]
    assert written[("report",)] == ["report.html"]
    assert written[RUN_PARTS] == sorted(sum((written[(p,)] for p in RUN_PARTS), []))
    with pytest.raises(ValueError, match="parts"):
        export_sample(tmp_path / "x", analysis, sample="bsa", parts=("plots",))
