"""The tools the model calls, one module each, and the per-session registry (`glmcode.tools.registry`).

Also here: workspace confinement (`workspace`), the shell runner, snapshots and checkpoints.
Nothing is imported on `import glmcode.tools`: callers import the module they need.
"""
