"""Front ends for headless runs: each is a callable that consumes engine events."""
