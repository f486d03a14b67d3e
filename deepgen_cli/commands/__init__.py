"""One thin module per subcommand: options -> frozen config -> engine -> report."""
