#!/usr/bin/env bash
# Installs the halos-analysis that runs the workflow into this rule's conda environment
# (not editable, no dependencies: those come from the environment file). `halos run` names
# its source in HALOS_PACKAGE_SOURCE: a checkout, or a copy of the installed package.
set -euo pipefail
python -m pip install --quiet --no-deps --no-build-isolation "${HALOS_PACKAGE_SOURCE:?run the workflow with halos run (it sets HALOS_PACKAGE_SOURCE)}"
