"""The interactive Textual session (`glmcode [PROMPT]`).

A consumer of the engine's typed events, like the headless renderers: the engine runs on a
worker thread, its events cross to the UI thread through `bridge.EventBridge` in frame-sized
batches, and widgets only ever display them. Textual is imported only inside this package.
"""
