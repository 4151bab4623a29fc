# Check of the raw files before anything is integrated: their metadata against the facility
# profile, and their structure (a truncated CBF, an HDF5 file that does not open, a missing
# linked data file). The frames themselves are read once, by the integration, which checks
# each one as it goes (readable, of the detector's shape, with counts) and hashes the bytes.


rule validate_raw:
    input:
        unpack(frame_inputs),
        frame_list=frame_list,
    output:
        f"{RESULTS}/{{name}}/{{name}}_raw_validation.json",
    log:
        f"{RESULTS}/logs/validate_raw/{{name}}.log",
    conda:
        "../envs/integrate.yaml"
    params:
        options=lambda wc: (
            option("--facility", row_profile(wc))
            + option("--side-table", measurement(wc).side_table)
            + option("--poni", measurement(wc).poni)
        ),
    shell:
        "halos validate --metadata-only --frames-from {input.frame_list:q}"
        " {params.options:q} -o {output:q} > {log:q} 2>&1"
