# Shareable outputs: per-sample NXcanSAS, summary and provenance, then plots; run summary,
# then report and the run's RO-Crate. All read the run manifest (config, sheet) and the
# frames files' records of the raw files read: nothing here re-reads a config file or
# re-expands a glob. The row path (export_sample, summarise) comes before the figures
# (plot_sample, plot_overview) and the report (write_report), so that `halos watch` shows a
# sample's row first.


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
    log:
        f"{RESULTS}/logs/export/{{sample}}.log",
    # The data, then the run summary, before any figure: in live mode the sample's row is
    # what the shift waits for (priority decides when fewer cores than ready jobs).
    priority: 2
    conda:
        "../envs/export.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.sample}",
        record=lambda wc: sample_record(wc.sample),
    shell:
        "halos export {input.analysis:q} --parts data --sample {wildcards.sample:q}"
        " --sample-avg {input.sample_avg:q} --buffer-avg {input.buffer_avg:q}"
        " --similarity {input.similarity:q} --frames {input.frames:q}"
        " --frames-files {input.all_frames:q} --manifest {input.manifest:q}"
        " -o {params.outdir:q} > {log:q} 2>&1"


rule plot_sample:
    input:
        analysis=f"{RESULTS}/{{sample}}/{{sample}}_analysis.json",
        sample_avg=f"{RESULTS}/{{sample}}/{{sample}}_avg.dat",
        buffer_avg=f"{RESULTS}/{{sample}}/{{sample}}_buffer.dat",
        similarity=f"{RESULTS}/{{sample}}/{{sample}}_similarity.json",
    output:
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
        # Each figure as SVG too: declared, so that a job stopped half-way leaves none.
        svg=multiext(
            f"{RESULTS}/{{sample}}/plots/{{sample}}_",
            "intensity.svg",
            "guinier.svg",
            "kratky.svg",
            "pr.svg",
            "similarity.svg",
        ),
    log:
        f"{RESULTS}/logs/plot/{{sample}}.log",
    conda:
        "../envs/export.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.sample}",
    shell:
        "halos export {input.analysis:q} --parts figures --sample {wildcards.sample:q}"
        " --sample-avg {input.sample_avg:q} --buffer-avg {input.buffer_avg:q}"
        " --similarity {input.similarity:q} -o {params.outdir:q} > {log:q} 2>&1"


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
    output:
        csv=report(
            f"{RESULTS}/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
        json=f"{RESULTS}/summary.json",
    log:
        f"{RESULTS}/logs/summarise.log",
    priority: 2
    conda:
        "../envs/export.yaml"
    params:
        results=lambda wc, output: str(Path(output.json).parent),
    shell:
        "halos summarise {input:q} --parts tables --results {params.results:q}"
        " > {log:q} 2>&1"


rule plot_overview:
    input:
        expand(f"{RESULTS}/{{sample}}/summary.json", sample=SAMPLES + SEC_RUNS),
    output:
        png=f"{RESULTS}/overview.png",
        svg=f"{RESULTS}/overview.svg",
    log:
        f"{RESULTS}/logs/overview.log",
    conda:
        "../envs/export.yaml"
    params:
        results=lambda wc, output: str(Path(output.png).parent),
    shell:
        "halos summarise {input:q} --parts overview --results {params.results:q}"
        " > {log:q} 2>&1"


rule write_report:
    input:
        summaries=expand(
            f"{RESULTS}/{{sample}}/summary.json", sample=SAMPLES + SEC_RUNS
        ),
        nxcansas=expand(f"{RESULTS}/{{sample}}/{{sample}}.h5", sample=SAMPLES),
        # The report shows each sample's figures and the overview; the RO-Crate lists the
        # run summary.
        plots=expand(rules.plot_sample.output, sample=SAMPLES),
        overview=rules.plot_overview.output,
        tables=rules.summarise.output,
        comparisons=[comparison_json(g) for g in COMPARE_GROUPS],
        manifest=MANIFEST,
    output:
        report=f"{RESULTS}/report.html",
        crate=f"{RESULTS}/ro-crate-metadata.json",
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        "../envs/export.yaml"
    params:
        results=lambda wc, output: str(Path(output.report).parent),
    shell:
        "halos summarise {input.summaries:q} --parts report --results {params.results:q}"
        " --comparisons {input.comparisons:q} --manifest {input.manifest:q}"
        " > {log:q} 2>&1"
