"""The command line (argparse and rich only). `client.cli.main:main` is the console script."""
