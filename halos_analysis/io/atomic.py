# SPDX-License-Identifier: MIT
"""Write a text file so that readers see either the old file or the whole new one.

The text goes to ``<name>.part`` beside the target and is renamed over it, so an interrupted
run never leaves a half-written result under the real name.
"""

from __future__ import annotations

from pathlib import Path


def write_text_atomic(text: str, path: str | Path, *, make_parents: bool = True) -> Path:
    """Write ``text`` to ``path`` through a temporary ``.part`` file and a rename.

    Parameters
    ----------
    text : str
        The whole content (UTF-8).
    path : str or Path
        Target file.
    make_parents : bool
        Create the target's folder when missing.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
