# SPDX-License-Identifier: MIT
"""``python -m halos_analysis`` is the ``halos`` command."""

import sys

from halos_analysis.app.cli import main

sys.exit(main())
