# HALOS Analysis workflow: detector frames -> integrated, selected, averaged, subtracted and
# analysed curves -> NXcanSAS, .dat, plots, summary tables and an HTML report.
# This file only wires; the science lives in the halos_analysis package.
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/reduce.smk"
include: "workflow/rules/analyse.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/series.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
