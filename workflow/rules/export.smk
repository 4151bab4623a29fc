# Shareable outputs: per-sample NXcanSAS, plots, summary and provenance; run summary, report
# and the run's RO-Crate. All read the run manifest (config, sheet) and the frames files'
# records of the raw files read: nothing here re-reads a config file or re-expands a glob.


rule export_sample:
    input:
        analysis=f"{RESULTS}/{{sample}}/{{sample}}_analysis.json",
        sample_avg=f"{RESULTS}/{{sample}}/{{sample}}_avg.dat",
        buffer_avg=f"{RESULTS}/{{sample}}/{{sample}}_buffer.dat",
        similarity=f"{RESULTS}/{{sample}}/{{sample}}_similarity.json",
        frames=f"{RESULTS}/{{sample}}/{{sample}}_frames.h5",
        all_frames=sample_frames_files,
        # The manifest grows with every measurement a run adds: a sample's export re-runs
        # when its own record or the effective config changes (params), not whenever the
        # sheet gains a row (which would redo every sample of a shift for each new one).
        manifest=ancient(MANIFEST),
    output:
        nxcansas=f"{RESULTS}/{{sample}}/{{sample}}.h5",
        summary=f"{RESULTS}/{{sample}}/summary.json",
        provenance=f"{RESULTS}/{{sample}}/provenance.json",
        intensity=report(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_intensity.png",
            caption="../report/intensity.rst",
            category="Curves",
            subcategory="{sample}",
        ),
        guinier=report(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_guinier.png",
            caption="../report/guinier.rst",
            category="Guinier",
            subcategory="{sample}",
        ),
        kratky=report(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_kratky.png",
            caption="../report/kratky.rst",
            category="Kratky",
            subcategory="{sample}",
        ),
        pr=report(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_pr.png",
            caption="../report/pr.rst",
            category="P(r)",
            subcategory="{sample}",
        ),
        similarity=report(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_similarity.png",
            caption="../report/similarity.rst",
            category="Frame selection",
            subcategory="{sample}",
        ),
    log:
        f"{RESULTS}/logs/export/{{sample}}.log",
    conda:
        "../envs/export.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.sample}",
        record=lambda wc: sample_record(wc.sample),
    shell:
        "halos export {input.analysis:q} --sample {wildcards.sample:q}"
        " --sample-avg {input.sample_avg:q} --buffer-avg {input.buffer_avg:q}"
        " --similarity {input.similarity:q} --frames {input.frames:q}"
        " --frames-files {input.all_frames:q} --manifest {input.manifest:q}"
        " -o {params.outdir:q} > {log:q} 2>&1"


rule compare:
    input:
        lambda wc: [f"{RESULTS}/{s}/{s}.h5" for s in COMPARE_GROUPS[wc.group]],
    output:
        html=f"{RESULTS}/compare/{{group}}/{{group}}_compare.html",
        json=f"{RESULTS}/compare/{{group}}/{{group}}_compare.json",
        png=report(
            f"{RESULTS}/compare/{{group}}/{{group}}_compare.png",
            caption="../report/compare.rst",
            category="Comparisons",
            subcategory="{group}",
        ),
        svg=f"{RESULTS}/compare/{{group}}/{{group}}_compare.svg",
    log:
        f"{RESULTS}/logs/compare/{{group}}.log",
    conda:
        "../envs/export.yaml"
    params:
        names=lambda wc: COMPARE_GROUPS[wc.group],
        options=[
            *option("--alpha", config["comparison"]["alpha"]),
            *option("--k-sigma", config["comparison"]["k_sigma"]),
            *(["--background"] if config["comparison"]["background"] else []),
        ],
    shell:
        "halos compare {input:q} --names {params.names:q} {params.options:q}"
        " -o {output.html:q} > {log:q} 2>&1"


rule summarise:
    input:
        expand(f"{RESULTS}/{{sample}}/summary.json", sample=SAMPLES + SEC_RUNS),
        expand(f"{RESULTS}/{{sample}}/{{sample}}.h5", sample=SAMPLES),
        [comparison_json(g) for g in COMPARE_GROUPS],
        manifest=MANIFEST,
    output:
        csv=report(
            f"{RESULTS}/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
        json=f"{RESULTS}/summary.json",
        report=f"{RESULTS}/report.html",
        crate=f"{RESULTS}/ro-crate-metadata.json",
    log:
        f"{RESULTS}/logs/summarise.log",
    conda:
        "../envs/export.yaml"
    params:
        summaries=lambda wc, input: [f for f in input if Path(f).name == "summary.json"],
        comparisons=lambda wc, input: [f for f in input if f.endswith("_compare.json")],
        results=lambda wc, output: str(Path(output.json).parent),
    shell:
        "halos summarise {params.summaries:q} --results {params.results:q}"
        " --comparisons {params.comparisons:q} --manifest {input.manifest:q}"
        " > {log:q} 2>&1"
