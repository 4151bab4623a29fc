# SPDX-License-Identifier: MIT
"""The machine-readable record of a run: a Workflow Run RO-Crate of the results folder.

``results/ro-crate-metadata.json`` follows the Workflow Run Crate profile
(https://w3id.org/ro/wfrun/workflow/0.5, the convention of the Snakemake and WorkflowHub
communities): the results folder is the crate, the workflow that ran is copied into it
(``.halos/workflow/``, its ``Snakefile`` the crate's ``mainEntity``), and one ``CreateAction``
says that the workflow made the result files (``result``) from the raw files, config files
and sheets (``object``, each with its ``sha256`` as the run recorded it), when and with which
command. The crate is built with the ``rocrate`` library (ro-crate-py); what that library
does not know of the run profiles (their ``conformsTo`` entities) is added here.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["PROFILES", "write_run_crate"]

#: Profiles the crate conforms to (Workflow Run Crate implies Process Run Crate).
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "Workflow RO-Crate",
}


def _uri(path: str, workdir: str | None) -> str:
    p = Path(path)
    if not p.is_absolute() and workdir:
        p = Path(workdir) / p
    return p.resolve().as_uri()


def write_run_crate(
    results: str | Path,
    run: Any,
    summaries: Sequence[str | Path],
    comparisons: Sequence[str | Path] = (),
    *,
    workflow: str | Path,
) -> Path:
    """Write ``ro-crate-metadata.json`` into the results folder.

    Parameters
    ----------
    results : path
        The run's results folder (the crate's root).
    run : RunManifest
        The run manifest (:func:`halos_analysis.app.manifest.read_manifest`).
    summaries : sequence of path
        Each sample's ``summary.json``; its ``provenance.json`` beside it lists the raw files
        read with their digests.
    comparisons : sequence of path
        ``halos compare`` JSON files of the run.
    workflow : path
        The workflow folder that ran (copied into the crate).

    Returns
    -------
    Path
        The metadata file.
    """
    from rocrate.rocrate import ROCrate

    results = Path(results).resolve()
    data = run.data
    workdir = data.get("workdir")
    # The workflow as it ran, inside the crate (a few tens of kB).
    wf_copy = results / ".halos" / "workflow"
    if wf_copy.exists():
        shutil.rmtree(wf_copy)
    shutil.copytree(workflow, wf_copy, ignore=shutil.ignore_patterns("__pycache__"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ro-crate-py warns about entities without a source
        crate = ROCrate()
        crate.name = f"HALOS Analysis run of {len(summaries)} samples"
        crate.description = (
            "bioSAXS results (NXcanSAS, curves, analyses, report) made by the HALOS Analysis "
            "Snakemake workflow; the run manifest is .halos/run.json"
        )
        workflow = crate.add_workflow(
            str(wf_copy / "Snakefile"),
            ".halos/workflow/Snakefile",
            main=True,
            lang="snakemake",
            properties={"name": "HALOS Analysis workflow", "version": data.get("version")},
        )
        for f in sorted(wf_copy.rglob("*")):
            if f.is_file() and f.name != "Snakefile":
                crate.add_file(str(f), str(f.relative_to(results)))
        objects: dict[str, Any] = {}

        def add_input(rec: dict[str, Any]) -> None:
            uri = _uri(rec["path"], workdir)
            if uri in objects or not rec.get("sha256"):
                return
            props = {"name": Path(rec["path"]).name, "sha256": rec["sha256"]}
            if rec.get("bytes") is not None:
                props["contentSize"] = str(rec["bytes"])
            if rec.get("role"):
                props["description"] = rec["role"]
            objects[uri] = crate.add_file(uri, fetch_remote=False, properties=props)

        for rec in data.get("files", []):
            add_input(rec)
        results_files: list[Path] = [results / ".halos" / "run.json"]
        for summary in summaries:
            folder = Path(summary).resolve().parent
            prov_file = folder / "provenance.json"
            if prov_file.is_file():
                prov = json.loads(prov_file.read_text())
                for rec in prov.get("inputs", []):
                    add_input(rec)
            name = folder.name
            results_files += [
                folder / f"{name}.h5",
                folder / "summary.json",
                prov_file,
                folder / f"{name}_sub.dat",
                folder / f"{name}_analysis.json",
            ]
        results_files += [Path(c).resolve() for c in comparisons]
        results_files += [results / n for n in ("summary.csv", "summary.json", "report.html")]
        outputs = []
        for f in results_files:
            if f.is_file() and f.is_relative_to(results):
                outputs.append(crate.add_file(str(f), str(f.relative_to(results))))
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        crate.add_action(
            workflow,
            object=list(objects.values()),
            result=outputs,
            properties={
                "name": f"halos run in {workdir}",
                "description": data.get("command"),
                "startTime": data.get("date"),
                "endTime": now,
                "actionStatus": {"@id": "http://schema.org/CompletedActionStatus"},
            },
        )
        from rocrate.model.contextentity import ContextEntity

        for uri, name in PROFILES.items():
            crate.add(
                ContextEntity(
                    crate, uri, properties={"@type": "CreativeWork", "name": name,
                                            "version": uri.rsplit("/", 1)[1]},
                )
            )  # fmt: skip
        root = crate.root_dataset
        listed = root.get("conformsTo") or []
        listed = listed if isinstance(listed, list) else [listed]
        ids = [e["@id"] if isinstance(e, dict) else e.id for e in listed]
        root["conformsTo"] = [{"@id": i} for i in dict.fromkeys([*PROFILES, *ids])]
        crate.metadata.write(str(results))
    return results / "ro-crate-metadata.json"
