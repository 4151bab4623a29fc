# SPDX-License-Identifier: MIT
"""Every default of the pipeline, in one place.

One frozen dataclass per section of the workflow configuration
(``workflow/schemas/config.schema.yaml``): the schema's ``default`` values, the ``halos``
subcommands' argparse defaults and the keyword defaults of the pipeline functions are taken
from these or tested against them (``tests/test_settings.py`` fails when any of them
disagree). The integration engine's own :class:`~halos_analysis.integrate.IntegrationSettings`
holds the same integration defaults (tested too); it is not imported here so that the core
analysis does not import pyFAI.

Examples
--------
>>> from halos_analysis.settings import ANALYSIS
>>> ANALYSIS.psv_cm3_g
0.7425
>>> defaults()["selection"]["alpha"]
0.01
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANALYSIS",
    "COMPARISON",
    "GEOMETRY",
    "INTEGRATION",
    "SECTIONS",
    "SELECTION",
    "SUBTRACTION",
    "VALIDATION",
    "WORKFLOW",
    "AnalysisSettings",
    "ComparisonSettings",
    "GeometrySettings",
    "IntegrationConfig",
    "SelectionSettings",
    "SubtractionSettings",
    "ValidationSettings",
    "WorkflowSettings",
    "defaults",
]


@dataclass(frozen=True)
class WorkflowSettings:
    """Top-level keys: where the sheets are and where results go (paths relative to the
    working directory)."""

    samples: str = "config/samples.tsv"
    units: str | None = None
    results: str = "results"
    data_dir: str | None = None  # when set, every input path must resolve inside it


@dataclass(frozen=True)
class GeometrySettings:
    """Default detector geometry; a sample-sheet row may name its own."""

    poni: str | None = None
    mask: str | None = None


@dataclass(frozen=True)
class IntegrationConfig:
    """The ``integration`` section: how frames become curves.

    ``polarization_factor`` 0.99 corrects for the horizontally polarised beam of a
    synchrotron; None switches the correction off (pyFAI's own default).
    """

    npt: int = 1000
    unit: str = "q_nm^-1"
    method: str = "no"
    polarization_factor: float | None = 0.99
    scale: float = 1.0
    absolute_scale: bool = False
    batch_size: int | None = None
    cache_dir: str | None = None
    scheduler: str = "threads"


@dataclass(frozen=True)
class SelectionSettings:
    """The ``selection`` section: CorMap frame selection (and the buffer check)."""

    alpha: float = 0.01
    correction: str = "bonferroni"
    reference: str = "first"


@dataclass(frozen=True)
class SubtractionSettings:
    """The ``subtraction`` section."""

    buffer_scale: float = 1.0


@dataclass(frozen=True)
class AnalysisSettings:
    """The ``analysis`` section: Guinier, P(r) and molecular weight.

    ``psv_cm3_g`` is the partial specific volume v̄ in cm³/g (0.7425 for an average
    protein); ``guinier_qrg_max`` the upper qRg of the Guinier range.
    """

    macromolecule: str = "protein"
    psv_cm3_g: float = 0.7425
    guinier_qrg_max: float = 1.3
    mw_reference: dict[str, float] | None = None


@dataclass(frozen=True)
class ValidationSettings:
    """The ``validation`` section: raw-file checks."""

    check_raw: bool = True
    profile: str | None = None


@dataclass(frozen=True)
class ComparisonSettings:
    """The ``comparison`` section: ``halos compare`` of a sheet's ``compare_group``."""

    alpha: float = 0.01
    k_sigma: float = 3.0
    background: bool = False


WORKFLOW = WorkflowSettings()
GEOMETRY = GeometrySettings()
INTEGRATION = IntegrationConfig()
SELECTION = SelectionSettings()
SUBTRACTION = SubtractionSettings()
ANALYSIS = AnalysisSettings()
VALIDATION = ValidationSettings()
COMPARISON = ComparisonSettings()

#: Config section name -> its defaults.
SECTIONS: dict[str, Any] = {
    "geometry": GEOMETRY,
    "integration": INTEGRATION,
    "selection": SELECTION,
    "subtraction": SUBTRACTION,
    "analysis": ANALYSIS,
    "validation": VALIDATION,
    "comparison": COMPARISON,
}


def defaults() -> dict[str, Any]:
    """The whole default configuration as the nested dict a config file would give.

    Returns
    -------
    dict
        Top-level keys of :class:`WorkflowSettings` and one dict per section.
    """
    out: dict[str, Any] = dataclasses.asdict(WORKFLOW)
    out.update({name: dataclasses.asdict(sec) for name, sec in SECTIONS.items()})
    return out
