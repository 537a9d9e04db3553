"""The `keras-alexnet` command line. Each module here with a `register` function adds one subcommand."""
