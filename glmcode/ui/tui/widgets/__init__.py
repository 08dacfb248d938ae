"""The widgets of the session view, one per module."""
