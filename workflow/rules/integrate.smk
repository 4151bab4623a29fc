# Azimuthal integration: one job per measurement, frames in parallel inside (Dask). The job
# records every raw file it read and its SHA-256, computed from the bytes it read anyway.


rule integrate:
    input:
        unpack(frame_inputs),
        frame_list=frame_list,
        validated=raw_validation,
    output:
        f"{RESULTS}/{{name}}/{{name}}_frames.h5",
    log:
        f"{RESULTS}/logs/integrate/{{name}}.log",
    conda:
        "../envs/integrate.yaml"
    threads: 4
    resources:
        mem_mb=integrate_mem_mb,
        runtime=integrate_runtime,
    params:
        options=lambda wc: (
            option("--mask", measurement(wc).mask)
            + option("--side-table", measurement(wc).side_table)
            + option("--facility", row_profile(wc))
            + option("--batch-size", config["integration"]["batch_size"])
            + option(
                "--cache-dir",
                config["integration"]["cache_dir"] or f"{RESULTS}/.cache",
            )
            + option(
                "--scale", measurement(wc).scale or config["integration"]["scale"]
            )
            + option("--npt", config["integration"]["npt"])
            + option("--q-unit", config["integration"]["unit"].removeprefix("q_"))
            + option("--method", config["integration"]["method"])
            + option(
                "--polarization",
                (
                    "none"
                    if config["integration"]["polarization_factor"] is None
                    else config["integration"]["polarization_factor"]
                ),
            )
            + option("--scheduler", config["integration"]["scheduler"])
            + (["--absolute"] if config["integration"]["absolute_scale"] else [])
        ),
    shell:
        "DASK_NUM_WORKERS={threads} halos integrate --frames-from {input.frame_list:q}"
        " --poni {input.poni:q} {params.options:q} --name {wildcards.name:q}"
        " -o {output:q} > {log:q} 2>&1"
