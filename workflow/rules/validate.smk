# Standards check of the raw files before anything is integrated: bad data stop here, with
# the validator's message in the log.


rule validate_raw:
    input:
        frames=lambda wc: frame_inputs(wc)["frames"],
    output:
        f"{RESULTS}/{{name}}/{{name}}_raw_validation.json",
    log:
        f"{RESULTS}/logs/validate_raw/{{name}}.log",
    conda:
        "../../envs/integrate.yaml"
    params:
        profile=row_profile,
        side_table=lambda wc: optional_arg("--side-table", measurement(wc).side_table),
        poni=lambda wc: optional_arg("--poni", measurement(wc).poni),
    shell:
        "halos validate {input.frames} {params.profile} {params.side_table} {params.poni}"
        " -o {output} > {log} 2>&1"
