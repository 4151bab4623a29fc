# Guinier, P(r), MW and Kratky of each subtracted curve.


rule analyse:
    input:
        f"{RESULTS}/{{sample}}/{{sample}}_sub.dat",
    output:
        f"{RESULTS}/{{sample}}/{{sample}}_analysis.json",
    log:
        f"{RESULTS}/logs/analyse/{{sample}}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        conc=lambda wc: optional_arg("--conc", measurement(wc).concentration_mg_ml),
        absolute="--absolute" if config["integration"]["absolute_scale"] else "",
        reference=(
            "--reference {i0} {concentration_mg_ml} {mw_kda}".format(
                **config["analysis"]["mw_reference"]
            )
            if config["analysis"]["mw_reference"]
            else ""
        ),
        options=(
            f"--macromolecule {config['analysis']['macromolecule']}"
            f" --psv {config['analysis']['psv_cm3_g']}"
            f" --qrg-max {config['analysis']['guinier_qrg_max']}"
        ),
    shell:
        "halos analyse {input} {params.conc} {params.absolute} {params.reference}"
        " {params.options} -o {output} > {log} 2>&1"
