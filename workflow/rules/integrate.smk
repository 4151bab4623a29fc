# Azimuthal integration: one job per measurement, frames in parallel inside (Dask).


rule integrate:
    input:
        unpack(frame_inputs),
        validated=raw_validation,
    output:
        f"{RESULTS}/{{name}}/{{name}}_frames.h5",
    log:
        f"{RESULTS}/logs/integrate/{{name}}.log",
    conda:
        "../../envs/integrate.yaml"
    threads: 4
    params:
        frames=lambda wc: " ".join(f"'{f}'" for f in measurement(wc).frames),
        mask=lambda wc: optional_arg("--mask", measurement(wc).mask),
        side_table=lambda wc: optional_arg("--side-table", measurement(wc).side_table),
        batch=optional_arg("--batch-size", config["integration"]["batch_size"]),
        cache=optional_arg(
            "--cache-dir", config["integration"]["cache_dir"] or f"{RESULTS}/.cache"
        ),
        scale=lambda wc: measurement(wc).scale or config["integration"]["scale"],
        profile=row_profile,
        settings=(
            f"--npt {config['integration']['npt']} --unit '{config['integration']['unit']}'"
            f" --method {config['integration']['method']}"
            f" --polarization {config['integration']['polarization_factor']}"
            f" --scheduler '{config['integration']['scheduler']}'"
        ),
        absolute="--absolute" if config["integration"]["absolute_scale"] else "",
    shell:
        "DASK_NUM_WORKERS={threads} halos integrate {params.frames} --poni '{input.poni}'"
        " {params.mask} {params.side_table} {params.settings} {params.absolute} --scale {params.scale} {params.profile} {params.batch} {params.cache}"
        " --name {wildcards.name} -o {output} > {log} 2>&1"
