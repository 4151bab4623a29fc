# SEC-SAXS runs (sample sheet type `sec`): one job per run, never per frame.


rule series:
    input:
        series_input,
    output:
        summary=f"{RESULTS}/{{run}}/{{run}}_series.json",
        frames=f"{RESULTS}/{{run}}/{{run}}_frames.csv",
        sample_summary=f"{RESULTS}/{{run}}/summary.json",
        trace=report(
            f"{RESULTS}/{{run}}/plots/{{run}}_series_trace.png",
            caption="../report/series.rst",
            category="SEC series",
            subcategory="{run}",
        ),
    log:
        f"{RESULTS}/logs/series/{{run}}.log",
    conda:
        "../envs/analysis.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.run}",
        options=[
            *option("--macromolecule", config["analysis"]["macromolecule"]),
            *option("--alpha", config["selection"]["alpha"]),
        ],
    shell:
        "halos --overwrite series {input:q} --name {wildcards.run:q} {params.options:q}"
        " -o {params.outdir:q} > {log:q} 2>&1"
