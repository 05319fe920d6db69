"""False positives: ordinary developer commands the guard must let through (issue 15).

ORDINARY is a suite of commands a coding agent runs every day: git, grep/rg, pytest, npm, make, docker,
sed/awk, python -c one-liners, heredocs that write files, ... (no Devin API call, forbidden field or
token in any of them). Measured: 0 of the 116 are blocked (the issue allows at most 1 in 40), with

    .venv/bin/python -m pytest -p no:cacheprovider -o addopts="" -q tests/hook/test_false_positives.py

The rules were narrowed, not weakened: every command the rule tests say must be blocked still is
(tests/hook/test_rules.py, tests/plugin/test_plugin_hook.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "hooks"
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))

from guard.decide import decide, load_policy  # noqa: E402

CANONICAL, FORBIDDEN = load_policy(str(REPO), environ={})

# The issue names these: each must pass.
NAMED = [
    "grep -rn os.environ src/",
    "git commit -m 'Rotate session secrets'",
    'grep -n "cog_" bot/cogs/*.py',
    "python3 -c \"from discord.ext import commands; print('cog_unload')\"",
    "git log --grep=devin",
    "pytest tests/test_devin_client.py -k token",
    "cat .env.example",
    "echo $HOME",
    "ls ~/.config",
]

ORDINARY = NAMED + [
    # git
    "git status", "git status --short", "git diff", "git diff --stat HEAD~3", "git log --oneline -20",
    "git log -p --follow src/app.py", "git show HEAD:README.md", "git blame -L 10,40 src/auth.py",
    "git branch -a", "git switch -c fix/token-refresh", "git fetch origin && git rebase origin/main",
    "git commit -am 'Fix the token refresh race'", "git commit -m 'Stop logging secrets in debug mode'",
    "git commit -m \"Add a cog for moderation\"", "git log --author=alice --since='2 weeks ago'",
    "git grep -n 'os.environ' -- '*.py'", "git stash list", "git tag -l 'v1.*'",
    "git commit -F - <<'EOF'\nRefactor config loading\n\nRead os.environ once; pass a dict around.\nEOF",
    "git commit -m \"$(cat <<'EOF'\nFix the env loader (closes #12)\n\nReads .env files once; see docs/config.md.\n"
    "EOF\n)\"",
    "gh pr create --title 'Fix env loading' --body \"$(cat <<'EOF'\n## Summary\n- read os.environ once\n"
    "- stop printing secrets in debug logs\nEOF\n)\"",
    # search
    "grep -rn TODO src/", "grep -rniE 'password|secret' config/ --include=*.yml",
    "rg -n 'process\\.env' web/", "rg --files | head -50", "rg -l 'def test_' tests/",
    "grep -c '' src/*.py", "find . -name '*.py' -newer setup.cfg",
    "find . -type f -name '*.env*' -not -path './node_modules/*'",
    "grep -rn 'cog_check' bot/", "rg 'set -euo pipefail' scripts/", "grep -rn environ src/ | wc -l",
    # python
    "pytest -q", "pytest -x tests/unit", "python -m pytest tests/test_env_loading.py -k 'not slow'",
    "python3 -m pip install -e '.[dev]'", "python3 -m venv .venv && . .venv/bin/activate",
    "python3 -c 'import sys; print(sys.version)'", "python3 -c \"import os; print(os.environ.get('HOME'))\"",
    "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"name\"])' < package.json",
    "python3 - <<'EOF'\nimport pathlib\nfor p in pathlib.Path('src').rglob('*.py'):\n    print(p)\nEOF",
    "mypy src/ && ruff check .", "black --check .", "tox -e py311", "coverage run -m pytest && coverage report",
    "python manage.py migrate", "uv run pytest -q", "pip freeze | grep -i django",
    # node
    "npm test", "npm run build", "npm ci", "npx eslint . --ext .ts", "node -e 'console.log(process.version)'",
    "node -e \"console.log(process.env.NODE_ENV)\"", "yarn add -D typescript", "pnpm -r run lint",
    "npm run dev -- --port 3001", "cat package.json | jq '.scripts'",
    # build, containers
    "make", "make test", "make -j4 build", "cmake -S . -B build && cmake --build build",
    "cargo test --all-features", "go test ./...", "go vet ./... && golangci-lint run",
    "docker build -t app:dev .", "docker compose up -d db", "docker run --rm -e ENV=dev app:dev pytest",
    "docker ps -a", "docker logs --tail 100 web", "kubectl get pods -n staging",
    # files and text
    "ls -la", "ls -la ~/.config", "cat README.md", "head -n 40 src/settings.py", "tail -f logs/app.log",
    "wc -l src/*.py", "du -sh node_modules", "mkdir -p build/out && cp -r assets build/out/",
    "sed -i 's/DEBUG = True/DEBUG = False/' settings.py", "sed -n '1,20p' src/main.py",
    "awk -F, '{print $2}' data.csv | sort | uniq -c", "sort -u words.txt > words.sorted",
    "cat > .env.example <<'EOF'\nDATABASE_URL=postgres://localhost/app\nSECRET_KEY=change-me\nEOF",
    "cat <<EOF > notes.md\n# Notes\nRun \\`make test\\` before pushing; set ENV=dev.\nEOF",
    "tar czf build.tgz build/", "chmod +x scripts/*.sh", "diff -u old.txt new.txt",
    "jq '.items[] | .name' out.json", "curl -s https://pypi.org/pypi/requests/json | jq .info.version",
    "echo \"$(date +%F) deploy\" >> CHANGELOG.md", "export PATH=\"$HOME/.local/bin:$PATH\"",
    "set -euo pipefail; ./scripts/build.sh", "env FOO=1 make test", "printenv PATH", "ps aux | grep node",
    "for f in src/*.py; do echo \"$f\"; done", "while read -r l; do echo \"$l\"; done < list.txt",
    "if [ -f .env ]; then echo has-env; fi", "x=$((1<<4)); echo $x", "echo ${HOME:-/root}",
    "echo 'use <<EOF in docs'", "cat <<< 'one-line input' | wc -c", "time make build 2>&1 | tail -5",
    "ssh-keygen -l -f ~/.ssh/id_ed25519.pub", "openssl rand -hex 16", "which python3 && python3 --version",
]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fp") / "plugin"
    (root / "scripts").mkdir(parents=True)
    return root


def _decide(root: Path, command: str) -> str | None:
    return decide({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": "/work/project"},
                  CANONICAL, FORBIDDEN, root=str(root), environ={})


def test_the_suite_is_large_and_has_no_repeats():
    assert len(ORDINARY) >= 80
    assert len(set(ORDINARY)) == len(ORDINARY)


@pytest.mark.parametrize("command", NAMED)
def test_the_commands_the_issue_names_pass(root, command, monkeypatch):
    monkeypatch.setenv("HOME", "/home/dev")
    assert _decide(root, command) is None


def test_ordinary_commands_pass(root, monkeypatch):
    """All of them: the measured false-positive count is 0 of len(ORDINARY) (issue: at most 1 in 40)."""
    monkeypatch.setenv("HOME", "/home/dev")
    blocked = [(command, reason) for command in ORDINARY if (reason := _decide(root, command)) is not None]
    assert len(blocked) <= len(ORDINARY) // 40
    assert blocked == [], "\n".join(f"{c!r}: {r}" for c, r in blocked)


def test_ordinary_commands_are_decided_in_milliseconds(root, monkeypatch):
    """A bound with a wide margin, not a benchmark: a few milliseconds each is usual (see the
    report in hooks/guard_bash.py); 100 ms on average would mean something went quadratic."""
    monkeypatch.setenv("HOME", "/home/dev")
    started = time.perf_counter()
    for command in ORDINARY:
        _decide(root, command)
    assert (time.perf_counter() - started) / len(ORDINARY) < 0.1
