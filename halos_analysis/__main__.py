# SPDX-License-Identifier: MIT
"""``python -m halos_analysis`` is the ``halos`` command."""

import sys

from halos_analysis.app import halos_main

sys.exit(halos_main())
