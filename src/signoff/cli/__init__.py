"""The ``signoff`` command line (Typer): parse, call a use case, print."""
