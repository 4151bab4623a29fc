# Guinier, P(r), MW and Kratky of each subtracted curve.


def analyse_options(wildcards):
    a = config["analysis"]
    ref = a["mw_reference"]
    return [
        *option("--conc", measurement(wildcards).concentration_mg_ml),
        *(["--absolute"] if config["integration"]["absolute_scale"] else []),
        *(
            ["--reference", ref["i0"], ref["concentration_mg_ml"], ref["mw_kda"]]
            if ref
            else []
        ),
        *option("--macromolecule", a["macromolecule"]),
        *option("--psv", a["psv_cm3_g"]),
        *option("--qrg-max", a["guinier_qrg_max"]),
    ]


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
