# HALOS Analysis: `snakemake` in a checkout runs the workflow in workflow/ (`halos run` does
# the same from wherever the package is installed). The default profile is
# workflow/profiles/default (also reachable as profiles/default from here).


include: "workflow/Snakefile"


# An included file's default target does not carry over: name it again here.
rule checkout_all:
    default_target: True
    input:
        rules.all.input,
