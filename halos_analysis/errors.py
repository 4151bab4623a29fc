# SPDX-License-Identifier: MIT
"""Errors that the command line turns into one clear line.

Every error a user can cause with their input (a file, a config key, a sample sheet) is a
:class:`HalosInputError` naming the file and the field, so the CLI can print it without a
traceback and exit non-zero.
"""

from __future__ import annotations

from pathlib import Path


class HalosError(Exception):
    """Base class of every error HALOS raises on purpose."""


class HalosInputError(HalosError):
    """Bad input: names the file and, where known, the field or point at fault.

    Parameters
    ----------
    message : str
        What is wrong, in words a user understands.
    path : str or Path, optional
        The file at fault.
    field : str, optional
        The field, dataset, key, column or point at fault.
    """

    def __init__(self, message: str, path: str | Path | None = None, field: str | None = None):
        # One line, whatever the message quotes (a multi-line repr of an array, a foreign
        # library's error): the command line prints it as one.
        message = " ".join(str(message).split())
        self.path = None if path is None else str(path)
        self.field = None if field is None else " ".join(str(field).split())
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path
            if field:
                where += f" [{field}]"
            where += ": "
        elif field:
            where = f"[{field}]: "
        super().__init__(where + message)
