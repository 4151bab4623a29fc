# SPDX-License-Identifier: MIT
"""The application room: the ``halos`` command, its subcommands, config loading, the run
manifest, the workflow runner, live mode and ``halos reproduce``.

Nothing in the library (``io``, ``integrate``, ``reduce``, ``analysis``, ``export``) imports
from here except through the names below; the Snakemake rules (``workflow/rules/common.smk``)
use them too.
"""

from halos_analysis.app.cli import build_parser, main

__all__ = ["build_parser", "main"]
