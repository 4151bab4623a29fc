# SPDX-License-Identifier: MIT
"""Build hook: the workflow ships inside the package (``halos_analysis/workflow`` in a wheel),
and so does the example's source profile (``halos_analysis/data/bsa_profile.dat``).

The checkout keeps ``workflow/`` at the top, where the Snakemake workflow catalogue expects
it; a non-editable build copies it into the package, where ``halos_analysis.app.runner`` finds it
through ``importlib.resources``. An editable install reads the checkout's folder directly.
Everything else is declared in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithWorkflow(build_py):
    """``build_py`` that also copies ``workflow/`` into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the editable package reads the checkout's workflow/
        source = Path(__file__).resolve().parent / "workflow"
        target = Path(self.build_lib) / "halos_analysis" / "workflow"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(
            source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".snakemake")
        )
        # The real BSA profile the example is simulated from (CC0), for `halos simulate`.
        data = Path(self.build_lib) / "halos_analysis" / "data"
        data.mkdir(parents=True, exist_ok=True)
        for name in ("bsa_profile.dat", "README.md"):
            shutil.copy2(source.parent / "example_data" / name, data / name)


setup(cmdclass={"build_py": BuildPyWithWorkflow})
