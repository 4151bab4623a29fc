# SPDX-License-Identifier: MIT
"""``python -m halos_analysis`` is the ``halos`` command."""

import sys

from halos_analysis.app.worker import halos

sys.exit(halos())
