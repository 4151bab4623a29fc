# The run's record, written once per run: the manifest (effective config, every measurement
# with its explicit frame list, config files and sheets with their SHA-256, command,
# versions) and one explicit frame list per measurement (what `halos integrate` reads: a
# shell command line cannot hold thousands of paths). Both re-run only when what they record
# changes (Snakemake's params trigger).


rule manifest:
    output:
        MANIFEST,
    log:
        f"{RESULTS}/logs/manifest.log",
    localrule: True
    params:
        run=RUN,
    run:
        from halos_analysis.manifest import write_manifest

        write_manifest(output[0], params.run, log=log[0])


rule frame_list:
    output:
        f"{RESULTS}/.halos/frames/{{name}}.json",
    log:
        f"{RESULTS}/logs/frame_list/{{name}}.log",
    localrule: True
    params:
        frames=lambda wc: list(measurement(wc).frames),
    run:
        from halos_analysis.manifest import write_frame_list

        write_frame_list(output[0], wildcards.name, params.frames, log=log[0])
