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
        "../../envs/analysis.yaml"
    params:
        selection=(
            f"--alpha {config['selection']['alpha']}"
            f" --correction {config['selection']['correction']}"
            f" --reference {config['selection']['reference']}"
        ),
    shell:
        "halos reduce {input} {params.selection} --similarity {output.similarity}"
        " -o {output.average} > {log} 2>&1"


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
        "../../envs/analysis.yaml"
    params:
        scale=config["subtraction"]["buffer_scale"],
        check=(
            f"--alpha {config['selection']['alpha']}"
            f" --correction {config['selection']['correction']}"
        ),
    shell:
        "halos subtract {input.sample} {input.buffers} --scale {params.scale} {params.check}"
        " --name {wildcards.sample} --buffer-out {output.buffer} -o {output.subtracted}"
        " > {log} 2>&1"
