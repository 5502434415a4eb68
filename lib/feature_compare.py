"""Entry point of ``python -m lib.feature_compare``; the code is in :mod:`lib.cli.feature_compare`."""
if __name__ == "__main__":
    import sys

    from . import cli
    from .cli import feature_compare

    sys.exit(cli.run(feature_compare.main, prog="python -m lib.feature_compare"))
