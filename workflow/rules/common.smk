# Helpers shared by the rules: config and sample-sheet validation, output paths.
import sys
from pathlib import Path

from halos_analysis.config import load_samples, validate_config
from halos_analysis.errors import HalosInputError


def _die(exc):
    # One line naming the file and field; no traceback for a user's mistake.
    print(f"halos workflow: error: {exc}", file=sys.stderr)
    sys.exit(1)


try:
    validate_config(config, ", ".join(map(str, workflow.configfiles)) or "config")
    MEASUREMENTS = load_samples(config["samples"], config)
except HalosInputError as exc:
    _die(exc)

RESULTS = config["results"]
SAMPLES = [m.name for m in MEASUREMENTS.values() if m.type == "sample"]
SEC_RUNS = [m.name for m in MEASUREMENTS.values() if m.type == "sec"]
CONFIGFILES = [str(f) for f in workflow.configfiles]
# Samples compared with each other: a group of two or more sharing a compare_group.
COMPARE_GROUPS = {}
for _m in MEASUREMENTS.values():
    if _m.type == "sample" and _m.compare_group:
        COMPARE_GROUPS.setdefault(_m.compare_group, []).append(_m.name)
COMPARE_GROUPS = {g: s for g, s in COMPARE_GROUPS.items() if len(s) >= 2}


wildcard_constraints:
    name="|".join(MEASUREMENTS) or "NONE",
    sample="|".join(SAMPLES) or "NONE",
    group="|".join(COMPARE_GROUPS) or "NONE",
    run="|".join(SEC_RUNS) or "NONE",


def measurement(wildcards):
    return MEASUREMENTS[wildcards.get("name") or wildcards.get("sample")]


def frame_inputs(wildcards):
    """Frame files, PONI, mask and side table of one measurement (for rerun triggers)."""
    m = measurement(wildcards)
    files = [f.split("::", 1)[0] for f in m.frames]
    return {
        "frames": files,
        "poni": m.poni,
        **({"mask": m.mask} if m.mask else {}),
        **({"side_table": m.side_table} if m.side_table else {}),
    }


def raw_validation(wildcards):
    """The raw-file check the integration waits for (none when switched off)."""
    if not config["validation"]["check_raw"]:
        return []
    return f"{RESULTS}/{wildcards.name}/{wildcards.name}_raw_validation.json"


def row_profile(wildcards):
    """The facility profile of a row: its sheet column, else validation.profile."""
    prof = measurement(wildcards).profile or config["validation"]["profile"]
    return optional_arg("--profile", prof)


def comparison_json(group):
    return f"{RESULTS}/compare/{group}/{group}_compare.json"


def optional_arg(flag, value):
    return f"{flag} '{value}'" if value not in (None, "") else ""


def buffer_averages(wildcards):
    """Averaged curves of a sample's buffer(s): several are compared, then averaged."""
    return [
        f"{RESULTS}/{b}/{b}_avg.dat" for b in MEASUREMENTS[wildcards.sample].buffers
    ]


def series_input(wildcards):
    """A SEC run's curves as given (1D curves), else its integrated frames file."""
    from halos_analysis.io.series import is_curve_input

    m = MEASUREMENTS[wildcards.run]
    files = [f.split("::", 1)[0] for f in m.frames]
    if is_curve_input(files):
        return files
    return f"{RESULTS}/{m.name}/{m.name}_frames.h5"


def final_outputs():
    out = [
        f"{RESULTS}/summary.csv",
        f"{RESULTS}/summary.json",
        f"{RESULTS}/report.html",
    ]
    for s in SAMPLES:
        out += [f"{RESULTS}/{s}/{s}.h5", f"{RESULTS}/{s}/summary.json"]
    out += [comparison_json(g) for g in COMPARE_GROUPS]
    for r in SEC_RUNS:
        out += [f"{RESULTS}/{r}/{r}_series.json", f"{RESULTS}/{r}/summary.json"]
    return out
