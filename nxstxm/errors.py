"""The root of every error the assembler raises: a caller catches :class:`NXstxmError` once."""

from __future__ import annotations


class NXstxmError(Exception):
    """Something in the documents, files or settings stops an NXstxm file being written or read.

    Subclasses also derive from the builtin that fits (``ValueError`` for bad input,
    ``OSError`` for files), so code that caught those before still works.
    """
