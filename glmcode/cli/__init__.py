"""Entry point of the `glmcode` command.

`--version` is answered here before anything heavy is imported (start-up time is a feature);
everything else goes to the Typer app in `glmcode.cli.app`. Usage errors become one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

from glmcode import __version__


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exits the process with the command's exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"glmcode {__version__}\n")
        sys.stdout.flush()
        return
    from glmcode.cli.app import run_app

    sys.exit(run_app(args))
