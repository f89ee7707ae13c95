"""One error class for every cnn_core op: a sentence for the student, plus a reason code and its numbers.

`reason` names the kind of problem (e.g. "no_fit") and `details` carries its numbers (e.g. span=13, padded=10),
so the app can say the same sentence in the student's language (ui/errors.py → explain) without writing any
limit twice. The English message is the fallback and what a Python user sees.
"""

from __future__ import annotations


class CnnError(ValueError):
    """Settings or data an op cannot work with. `str(error)` says what happened and what to change."""

    def __init__(self, message: str, reason: str = "unspecified", **details):
        super().__init__(message)
        self.reason = reason
        self.details = details
