"""`python -m glmcode` runs the command-line interface."""

from glmcode.cli import main

main()
