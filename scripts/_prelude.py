"""Shared start of every script: put lib/ on the path and find the dependencies."""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
# The scripts folder holds secrets.py (a contract name): once this prelude is found, take the
# folder off the path so that `import secrets` anywhere gets the standard library module.
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.join(_HERE, os.pardir, "lib"))

from devin_plugin import boot  # noqa: E402

boot.ensure_environment()
