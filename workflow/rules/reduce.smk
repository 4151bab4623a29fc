# Frame selection (CorMap), averaging and buffer subtraction.


rule reduce:
    input:
        f"{RESULTS}/{{name}}/{{name}}_frames.h5",
    output:
        average=f"{RESULTS}/{{name}}/{{name}}_avg.dat",
        similarity=f"{RESULTS}/{{name}}/{{name}}_similarity.json",
    log:
        f"{RESULTS}/logs/reduce/{{name}}.log",
    conda:
        "../envs/analysis.yaml"
    params:
        selection=[
            *option("--alpha", config["selection"]["alpha"]),
            *option("--correction", config["selection"]["correction"]),
            *option("--frame-reference", config["selection"]["reference"]),
        ],
    shell:
        "halos reduce {input:q} {params.selection:q} --similarity {output.similarity:q}"
        " -o {output.average:q} > {log:q} 2>&1"


rule subtract:
    input:
        sample=f"{RESULTS}/{{sample}}/{{sample}}_avg.dat",
        buffers=buffer_averages,
    output:
        subtracted=f"{RESULTS}/{{sample}}/{{sample}}_sub.dat",
        buffer=f"{RESULTS}/{{sample}}/{{sample}}_buffer.dat",
    log:
        f"{RESULTS}/logs/subtract/{{sample}}.log",
    conda:
        "../envs/analysis.yaml"
    params:
        options=[
            *option("--buffer-scale", config["subtraction"]["buffer_scale"]),
            *option("--alpha", config["selection"]["alpha"]),
            *option("--correction", config["selection"]["correction"]),
        ],
    shell:
        "halos subtract {input.sample:q} {input.buffers:q} {params.options:q}"
        " --name {wildcards.sample:q} --buffer-out {output.buffer:q}"
        " -o {output.subtracted:q} > {log:q} 2>&1"
