"""Errors shared by the command line and the engine, kept free of heavy imports."""


class ConfigError(Exception):
    """A usage or configuration problem: reported in one line, exit code 2."""
