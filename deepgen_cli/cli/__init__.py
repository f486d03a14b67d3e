"""The face: the Typer app, its shared options, the run session, and one small module per command."""
