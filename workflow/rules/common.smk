# Helpers shared by the rules: config and sample-sheet validation, the run manifest, output
# paths. Rules never assemble a shell string from sheet values: every value goes through
# Snakemake's `:q` quoting, lists as lists.
import re
import sys
from pathlib import Path

from halos_analysis.app.config import load_samples, read_config_file, validate_config
from halos_analysis.errors import HalosInputError
from halos_analysis.app.manifest import manifest_params, sync_frame_list, sync_manifest


def _die(exc):
    # One line naming the file and field; no traceback for a user's mistake.
    print(f"halos workflow: error: {exc}", file=sys.stderr)
    sys.exit(1)


# A row that cannot be used (a bad name, a missing buffer or frame file, a path outside
# data_dir) is refused with one line and left out; the other rows run, and the run ends
# with exit 1 (onsuccess below). A config or sheet that is unusable as a whole stops it here.
REFUSED = []
try:
    for _f in workflow.configfiles:
        read_config_file(_f)
    validate_config(config, ", ".join(map(str, workflow.configfiles)) or "config")
    MEASUREMENTS = load_samples(config["samples"], config, errors=REFUSED)
except HalosInputError as exc:
    _die(exc)
if workflow.is_main_process:
    for _exc in REFUSED:
        print(f"halos workflow: error: {_exc} (row left out)", file=sys.stderr)


def _say_refused():
    if REFUSED:
        print(
            f"halos workflow: error: {len(REFUSED)} sample-sheet rows refused (see above);"
            " the other rows were processed",
            file=sys.stderr,
        )


onsuccess:
    _say_refused()
    if REFUSED:
        sys.exit(1)


onerror:
    _say_refused()
    _partial_summary()


RESULTS = config["results"]
SAMPLES = [m.name for m in MEASUREMENTS.values() if m.type == "sample"]
SEC_RUNS = [m.name for m in MEASUREMENTS.values() if m.type == "sec"]
# The run manifest: effective config (files, --config overrides and defaults, merged once
# here), every measurement with its explicit frame list, versions, command.
MANIFEST = f"{RESULTS}/.halos/run.json"
RUN = manifest_params(config, MEASUREMENTS, workflow)


def sample_record(name):
    """What of the manifest decides one sample's exports: the effective config and the
    records of the sample and its buffers (a rule's params: a change re-runs that sample).
    """
    m = RUN["measurements"][name]
    rows = [m] + [RUN["measurements"][b] for b in m.get("buffers", ())]
    # Where the sheets are is not what they say: their rows of this sample are compared.
    settings = {k: v for k, v in RUN["config"].items() if k not in ("samples", "units")}
    return {"config": settings, "measurements": rows}


# Samples compared with each other: a group of two or more sharing a compare_group.
COMPARE_GROUPS = {}
for _m in MEASUREMENTS.values():
    if _m.type == "sample" and _m.compare_group:
        COMPARE_GROUPS.setdefault(_m.compare_group, []).append(_m.name)
COMPARE_GROUPS = {g: s for g, s in COMPARE_GROUPS.items() if len(s) >= 2}


def _alternatives(names):
    # Names are regex-escaped: a "." in a name matches only a ".".
    return "|".join(re.escape(n) for n in names) or "NONE"


wildcard_constraints:
    name=_alternatives(MEASUREMENTS),
    sample=_alternatives(SAMPLES),
    group=_alternatives(COMPARE_GROUPS),
    run=_alternatives(SEC_RUNS),


def measurement(wildcards):
    return MEASUREMENTS[wildcards.get("name") or wildcards.get("sample")]


def frame_inputs(wildcards):
    """Frame files, PONI, mask and side table of one measurement (for rerun triggers)."""
    m = measurement(wildcards)
    return {
        "frames": list(m.frame_files),
        "poni": m.poni,
        **({"mask": m.mask} if m.mask else {}),
        **({"side_table": m.side_table} if m.side_table else {}),
    }


def frame_list(wildcards):
    return f"{RESULTS}/.halos/frames/{wildcards['name']}.json"


# One explicit frame list per measurement, what `halos integrate` and `halos validate` read
# (a shell command line cannot hold thousands of paths). Written here, when the sheet is
# read, and only when it changes: its time stamp then re-runs that measurement's steps. Only
# the main process writes them: a job started on a cluster node reads what it decided.
if workflow.is_main_process:
    for _m in MEASUREMENTS.values():
        sync_frame_list(frame_list({"name": _m.name}), _m.name, _m.frames)
    # The run manifest, likewise: written here (no job, no process of its own) and only when
    # what decides the results changes, so its time stamp re-runs only what depends on that.
    sync_manifest(MANIFEST, RUN, log=f"{RESULTS}/logs/manifest.log")


def raw_validation(wildcards):
    """The raw-file check the integration waits for (none when switched off)."""
    if not config["validation"]["check_raw"]:
        return []
    return f"{RESULTS}/{wildcards.name}/{wildcards.name}_raw_validation.json"


def option(flag, value):
    """``[flag, value]`` for a value that is set, else nothing (for `:q` formatting)."""
    return [] if value in (None, "") else [flag, str(value)]


def row_profile(wildcards):
    """The facility profile of a row: its sheet column, else validation.profile."""
    return measurement(wildcards).profile or config["validation"]["profile"]


def comparison_json(group):
    return f"{RESULTS}/compare/{group}/{group}_compare.json"


def buffer_averages(wildcards):
    """Averaged curves of a sample's buffer(s): several are compared, then averaged."""
    return [
        f"{RESULTS}/{b}/{b}_avg.dat" for b in MEASUREMENTS[wildcards.sample].buffers
    ]


def sample_frames_files(wildcards):
    """The frames files of a sample and of its buffers: they record the raw files read."""
    m = MEASUREMENTS[wildcards.sample]
    return [f"{RESULTS}/{n}/{n}_frames.h5" for n in (m.name, *m.buffers)]


def series_input(wildcards):
    """A SEC run's curves as given (1D curves), else its integrated frames file."""
    from halos_analysis.io.series import is_curve_input

    m = MEASUREMENTS[wildcards.run]
    files = list(m.frame_files)
    if is_curve_input(files):
        return files
    return f"{RESULTS}/{m.name}/{m.name}_frames.h5"


def analyse_options(wildcards):
    a = config["analysis"]
    ref = a["mw_reference"]
    return [
        *option("--conc", measurement(wildcards).concentration_mg_ml),
        *(["--absolute"] if config["integration"]["absolute_scale"] else []),
        *(
            ["--mw-standard", ref["i0"], ref["concentration_mg_ml"], ref["mw_kda"]]
            if ref
            else []
        ),
        *option("--macromolecule", a["macromolecule"]),
        *option("--psv", a["psv_cm3_g"]),
        *option("--qrg-max", a["guinier_qrg_max"]),
    ]


def final_outputs():
    out = [
        f"{RESULTS}/summary.csv",
        f"{RESULTS}/summary.json",
        f"{RESULTS}/report.html",
        f"{RESULTS}/ro-crate-metadata.json",
    ]
    for s in SAMPLES:
        out += [f"{RESULTS}/{s}/{s}.h5", f"{RESULTS}/{s}/summary.json"]
    out += [comparison_json(g) for g in COMPARE_GROUPS]
    for r in SEC_RUNS:
        out += [f"{RESULTS}/{r}/{r}_series.json", f"{RESULTS}/{r}/summary.json"]
    return out


def _partial_summary():
    """After a failed run (keep-going: the other samples went on), the run summary and
    report of the samples that have results, naming those that have none (the summarise
    job, which needs every sample, did not run) and those whose figures failed (the report
    job, which needs them, did not run: report.html would stay as an earlier run left it).
    """
    from halos_analysis.export import export_run

    names = SAMPLES + SEC_RUNS
    done = [n for n in names if Path(f"{RESULTS}/{n}/summary.json").is_file()]
    missing = {n: f"no results; see {RESULTS}/logs" for n in names if n not in done}
    no_figures = {
        n: f"see {RESULTS}/logs/plot/{n}.log"
        for n in SAMPLES
        if n in done and not Path(f"{RESULTS}/{n}/plots/{n}_intensity.png").is_file()
    }
    if not done or not (missing or no_figures):
        return
    try:
        export_run(
            RESULTS,
            [f"{RESULTS}/{n}/summary.json" for n in done],
            missing=missing,
            no_figures=no_figures,
        )
    except Exception as exc:  # the run has failed already: say it, never mask its error
        print(f"halos workflow: no partial summary ({exc})", file=sys.stderr)
        return
    said = [f"without results: {', '.join(missing)}"] if missing else []
    said += [f"without figures: {', '.join(no_figures)}"] if no_figures else []
    print(
        f"halos workflow: {RESULTS}/summary.csv and report.html cover {len(done)} of "
        f"{len(names)} samples; {'; '.join(said)}",
        file=sys.stderr,
    )
