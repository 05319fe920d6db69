"""Shared start of every script: put lib/ on the path and find the dependencies."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "lib"))

from devin_plugin import boot  # noqa: E402

boot.ensure_environment()
