# SPDX-License-Identifier: MIT
"""One source of truth for defaults: the schema, the argparse defaults, the integration
engine's settings and the pipeline functions' keyword defaults all agree with
:mod:`halos_analysis.settings` (each test names the place that disagrees)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import yaml

from halos_analysis import settings
from halos_analysis.app.cli import build_parser
from halos_analysis.app.runner import workflow_dir


def _schema_defaults(schema: dict) -> dict:
    out = {}
    for key, sub in schema["properties"].items():
        if "properties" in sub and sub.get("default") == {}:
            out[key] = _schema_defaults(sub)  # a section: its keys' defaults
        else:
            out[key] = sub.get("default")
    return out


def test_schema_defaults_are_the_settings():
    schema = yaml.safe_load((workflow_dir() / "schemas" / "config.schema.yaml").read_text())
    assert _schema_defaults(schema) == settings.defaults()


def _subparser(name: str):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


def _default(command: str, dest: str):
    return _subparser(command).get_default(dest)


@pytest.mark.parametrize(
    ("command", "dest", "expected"),
    [
        ("integrate", "npt", settings.INTEGRATION.npt),
        # --q-unit nm^-1 is the settings' pyFAI unit q_nm^-1
        ("integrate", "q_unit", settings.INTEGRATION.unit.removeprefix("q_")),
        ("integrate", "method", settings.INTEGRATION.method),
        ("integrate", "polarization", settings.INTEGRATION.polarization_factor),
        ("integrate", "scale", settings.INTEGRATION.scale),
        ("integrate", "scheduler", settings.INTEGRATION.scheduler),
        ("reduce", "alpha", settings.SELECTION.alpha),
        ("reduce", "correction", settings.SELECTION.correction),
        ("reduce", "reference", settings.SELECTION.reference),
        ("subtract", "scale", settings.SUBTRACTION.buffer_scale),
        ("subtract", "alpha", settings.SELECTION.alpha),
        ("subtract", "correction", settings.SELECTION.correction),
        ("similarity", "alpha", settings.SELECTION.alpha),
        ("analyse", "psv", settings.ANALYSIS.psv_cm3_g),
        ("analyse", "macromolecule", settings.ANALYSIS.macromolecule),
        ("analyse", "qrg_max", settings.ANALYSIS.guinier_qrg_max),
        ("guinier", "qrg_max", settings.ANALYSIS.guinier_qrg_max),
        ("mw", "psv", settings.ANALYSIS.psv_cm3_g),
        ("compare", "alpha", settings.COMPARISON.alpha),
        ("compare", "k_sigma", settings.COMPARISON.k_sigma),
    ],
)
def test_argparse_defaults_are_the_settings(command, dest, expected):
    value = _default(command, dest)
    if value == "none":
        value = None
    assert value == expected, f"halos {command} --{dest.replace('_', '-')}"


def test_integration_engine_defaults_are_the_settings():
    from halos_analysis.integrate import IntegrationSettings

    engine = IntegrationSettings()
    for field in ("npt", "unit", "method", "polarization_factor", "scale", "batch_size"):
        assert getattr(engine, field) == getattr(settings.INTEGRATION, field), field
    assert engine.absolute == settings.INTEGRATION.absolute_scale


def _kw(func, name):
    return inspect.signature(func).parameters[name].default


def test_function_defaults_are_the_settings():
    from halos_analysis import reduce
    from halos_analysis.analysis import compare, guinier, mw, pipeline

    a, s = settings.ANALYSIS, settings.SELECTION
    checks = {
        "pipeline.analyse_curve psv_cm3_g": (_kw(pipeline.analyse_curve, "psv_cm3_g"), a.psv_cm3_g),
        "pipeline.analyse_curve qrg_max": (_kw(pipeline.analyse_curve, "qrg_max"),
                                           a.guinier_qrg_max),
        "pipeline.analyse_curve macromolecule": (
            _kw(pipeline.analyse_curve, "macromolecule"), a.macromolecule),
        "pipeline.reduce_frames alpha": (_kw(pipeline.reduce_frames, "alpha"), s.alpha),
        "pipeline.reduce_frames correction": (_kw(pipeline.reduce_frames, "correction"),
                                              s.correction),
        "pipeline.reduce_frames reference": (_kw(pipeline.reduce_frames, "reference"), s.reference),
        "pipeline.combine_buffers alpha": (_kw(pipeline.combine_buffers, "alpha"), s.alpha),
        "guinier.auto_guinier qrg_max": (_kw(guinier.auto_guinier, "qrg_max"), a.guinier_qrg_max),
        "mw.molecular_weight psv_cm3_g": (_kw(mw.molecular_weight, "psv_cm3_g"), a.psv_cm3_g),
        "mw.protein_mass_contrast psv_cm3_g": (_kw(mw.protein_mass_contrast, "psv_cm3_g"),
                                               a.psv_cm3_g),
        "reduce.select_frames alpha": (_kw(reduce.select_frames, "alpha"), s.alpha),
        "reduce.cormap_test alpha": (_kw(reduce.cormap_test, "alpha"), s.alpha),
        "compare.compare_measurements alpha": (_kw(compare.compare_measurements, "alpha"),
                                               settings.COMPARISON.alpha),
    }  # fmt: skip
    wrong = {k: v for k, v in checks.items() if v[0] != v[1]}
    assert not wrong, wrong


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ANALYSIS.psv_cm3_g = 0.73  # type: ignore[misc]
