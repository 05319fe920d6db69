#!/usr/bin/env python3
"""Developer entry point for the devin-plugin repository (stdlib only).

Usage (from any directory; every path is relative to this file):

    python3 dev.py setup            create/refresh .venv from requirements-dev.txt
                                    and requirements-mcp.txt (the MCP server extra)
    python3 dev.py test [ARGS...]   setup + lint (as below) + pinned Claude Code
                                    client, then pytest
    python3 dev.py lint             setup, then `ruff check .` and `mypy` (settings
                                    in pyproject.toml); fails if either finds anything
    python3 dev.py demo [ARGS...]   setup, then .venv/bin/python tools/demo.py
    python3 dev.py bench [ARGS...]  setup, then .venv/bin/python benchmarks/benchmark.py
    python3 dev.py mutmut [ARGS...] setup, then mutation testing of the policy, the
                                    HTTP helper and the dedup logic (tools/mutation.py)
    python3 dev.py claude           install the pinned Claude Code client only
                                    (prints the path of its binary)
    python3 dev.py lock [--upgrade] regenerate requirements*.txt (needs the
                                    package index; maintainers only)

Environment variables:

    DEVIN_PLUGIN_CLAUDE_BIN     use this Claude Code binary instead of
                                installing the pinned one
    DEVIN_PLUGIN_GEMINI_BIN     likewise for the pinned Gemini CLI (used only
                                for `gemini extensions validate`)
    DEVIN_PLUGIN_TEST_WORKERS   pytest-xdist workers for `test` (default
                                auto = one per CPU; 0 = run in one process)
    DEVIN_PLUGIN_SKIP_LINT      1 = `test` skips ruff and mypy (for quick local
                                runs only; CI never sets it)
    XDG_CACHE_HOME              where the client is cached (default ~/.cache)

`setup` is idempotent: .venv/.dev-stamp holds the sha256 of the requirements
files, and .venv is rebuilt from scratch when they change or when it is broken.
Pytest's exit code 5 ("no tests collected") is reported as a failure.
The code lives in tools/dev/ (standard library only, like this file).
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
# tools/ is a plain folder (a namespace package): put this checkout first on the path so that
# its tools/dev/ is the one imported, whatever the current directory (or `python3 -P`).
sys.path.insert(0, ROOT)

try:
    from tools.dev import main
except ImportError as e:  # e.g. an installed regular package named `tools` hides the folder
    sys.exit(f"dev.py: error: cannot import tools.dev from {ROOT}: {e}")

if __name__ == "__main__":
    sys.exit(main(sys.argv, __doc__))
