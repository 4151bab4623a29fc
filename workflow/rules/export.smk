# Shareable outputs: per-sample NXcanSAS, plots, summary and provenance; run summary and report.


rule export_sample:
    input:
        analysis=f"{RESULTS}/{{sample}}/{{sample}}_analysis.json",
        sample_avg=f"{RESULTS}/{{sample}}/{{sample}}_avg.dat",
        buffer_avg=f"{RESULTS}/{{sample}}/{{sample}}_buffer.dat",
        similarity=f"{RESULTS}/{{sample}}/{{sample}}_similarity.json",
        frames=f"{RESULTS}/{{sample}}/{{sample}}_frames.h5",
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
        "../../envs/export.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.sample}",
        configfiles=" ".join(f"'{f}'" for f in CONFIGFILES),
    shell:
        "halos export {input.analysis} --sample {wildcards.sample}"
        " --sample-avg {input.sample_avg} --buffer-avg {input.buffer_avg}"
        " --similarity {input.similarity} --frames {input.frames}"
        " --configfile {params.configfiles} --outdir {params.outdir} > {log} 2>&1"


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
        "../../envs/export.yaml"
    params:
        names=lambda wc: " ".join(COMPARE_GROUPS[wc.group]),
        options=(
            f"--alpha {config['comparison']['alpha']}"
            f" --k-sigma {config['comparison']['k_sigma']}"
            + (" --background" if config["comparison"]["background"] else "")
        ),
    shell:
        "halos compare {input} --names {params.names} {params.options}"
        " -o {output.html} > {log} 2>&1"


rule summarise:
    input:
        expand(f"{RESULTS}/{{sample}}/summary.json", sample=SAMPLES + SEC_RUNS),
        expand(f"{RESULTS}/{{sample}}/{{sample}}.h5", sample=SAMPLES),
        [comparison_json(g) for g in COMPARE_GROUPS],
    output:
        csv=report(
            f"{RESULTS}/summary.csv",
            caption="../report/summary.rst",
            category="Summary",
        ),
        json=f"{RESULTS}/summary.json",
        report=f"{RESULTS}/report.html",
    log:
        f"{RESULTS}/logs/summarise.log",
    conda:
        "../../envs/export.yaml"
    params:
        summaries=lambda wc, input: [f for f in input if Path(f).name == "summary.json"],
        comparisons=lambda wc, input: (
            "--comparisons "
            + " ".join(f for f in input if f.endswith("_compare.json"))
            if COMPARE_GROUPS
            else ""
        ),
        configfiles=" ".join(f"'{f}'" for f in CONFIGFILES),
        results=lambda wc, output: str(Path(output.json).parent),
    shell:
        "halos summarise {params.summaries} --results {params.results}"
        " {params.comparisons} --configfile {params.configfiles} > {log} 2>&1"
