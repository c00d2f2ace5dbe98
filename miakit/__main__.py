"""``python -m miakit``: the same as the ``miakit`` command."""

from miakit.cli import main

if __name__ == "__main__":
    main()
