"""Errors shared by the command line, the engine, the tools and the rules, kept free of heavy imports."""


class ConfigError(Exception):
    """A usage or configuration problem: reported in one line, exit code 2."""


class Refusal(Exception):
    """A call refused by a rule, the permission mode or the sandbox; the message is for the model.

    Raised by `glmcode.rules` (AGENT.md constraints, permissions) and by tools that enforce them;
    the tool registry turns it into a failed tool result with the summary `refused`.
    """
