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


rule summarise:
    input:
        expand(f"{RESULTS}/{{sample}}/summary.json", sample=SAMPLES),
        expand(f"{RESULTS}/{{sample}}/{{sample}}.h5", sample=SAMPLES),
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
        summaries=lambda wc, input: [f for f in input if f.endswith("summary.json")],
        configfiles=" ".join(f"'{f}'" for f in CONFIGFILES),
        results=lambda wc, output: str(Path(output.json).parent),
    shell:
        "halos summarise {params.summaries} --results {params.results}"
        " --configfile {params.configfiles} > {log} 2>&1"
