"""Errors the engine raises; the CLI turns each into one stderr line and an exit code."""


class DeepgenError(Exception):
    """A failure the user can act on; the message names the flag and the valid choices."""

    exit_code = 1


class UsageError(DeepgenError):
    """Bad input, caught before or while parsing it (exit 2)."""

    exit_code = 2


class RunError(DeepgenError):
    """A failure at run time: missing data, a model that cannot run at that size (exit 1)."""

    exit_code = 1
