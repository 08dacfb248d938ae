"""glmcode: a terminal coding agent built around Z.ai's GLM-5.2.

Importing this package must stay free of side effects and heavy imports: `glmcode --version`
reads `__version__` from here before anything else loads.
"""

__version__ = "0.1.0"
