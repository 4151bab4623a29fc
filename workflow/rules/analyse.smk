# Guinier, P(r), MW and Kratky of each subtracted curve.


rule analyse:
    input:
        f"{RESULTS}/{{sample}}/{{sample}}_sub.dat",
    output:
        f"{RESULTS}/{{sample}}/{{sample}}_analysis.json",
    log:
        f"{RESULTS}/logs/analyse/{{sample}}.log",
    conda:
        "../envs/analysis.yaml"
    params:
        options=analyse_options,
    shell:
        "halos analyse {input:q} {params.options:q} -o {output:q} > {log:q} 2>&1"
