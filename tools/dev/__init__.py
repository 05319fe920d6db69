"""The implementation of dev.py, the repository's developer entry point (stdlib only).

dev.py at the repository root is a thin wrapper that imports this package as `tools.dev` and
calls main(); the usage text is dev.py's docstring. The package must import with a plain system
`python3` before any virtual environment exists, so it uses the standard library only.

    util.py       repository root, DevError, log, the file lock, quiet subprocesses
    venv.py       .venv from the hash-pinned requirements, and its stamp
    npm_tools.py  the pinned Claude Code client and Gemini CLI, installed into the cache
    commands.py   setup, test, lint, demo, bench, mutmut, claude, lock, and main()
"""

from .commands import COMMANDS, main

__all__ = ["COMMANDS", "main"]
