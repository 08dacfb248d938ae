"""Front ends: the Textual app, the text, Rich and JSON-lines renderers, event presentation."""
