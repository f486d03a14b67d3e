"""`python -m deepgen_cli` runs the same app as the `deepgen` script."""

from deepgen_cli.cli.entry import main

main()
