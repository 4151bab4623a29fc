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
        "../../envs/analysis.yaml"
    params:
        outdir=lambda wc: f"{RESULTS}/{wc.run}",
        inputs=lambda wc, input: " ".join(f"'{f}'" for f in input),
        options=(
            f"--macromolecule {config['analysis']['macromolecule']}"
            f" --alpha {config['selection']['alpha']}"
        ),
    shell:
        "halos --overwrite series {params.inputs} --name {wildcards.run} {params.options}"
        " -o {params.outdir} > {log} 2>&1"
