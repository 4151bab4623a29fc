# The run's record, written once per run: the manifest (effective config, every measurement
# with its explicit frame list, config files and sheets with their SHA-256, command,
# versions). It is re-written only when what decides the results changes (Snakemake's params
# trigger), and the export and summary steps read it.


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
