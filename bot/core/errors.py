"""Errors a user can act on. Anything else is a bug and is reported as one."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action: the message says what was wrong and how to do it right."""

    def __init__(self, message: str, *, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class NotAllowed(UserError):
    """The caller's role does not allow this action."""


class NotRegistered(UserError):
    """The caller is not a member of any initiative the bot knows."""
