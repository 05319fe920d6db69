"""A bare repository standing in for GitHub, and the user's clone of it (tests of the PR loop)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import base_env


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def make_world(tmp_path, dirs, emu):
    """(env, clone): a bare 'GitHub' with main and PR heads 7 and 8, and the user's clone in dirs['work']."""
    home = dirs["home"]
    gcfg = home / ".gitconfig"
    bare = tmp_path / "github" / "acme" / "app.git"
    env = dict(base_env(dirs, emu), GIT_CONFIG_GLOBAL=str(gcfg), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid")
    gcfg.write_text(f'[url "{bare.as_uri()}"]\n\tinsteadOf = https://github.com/acme/app\n'
                    '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n')
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, env=env)
    seed = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", str(seed)], check=True, env=env)
    (seed / "README").write_text("app\n")
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-qm", "base", env=env)
    git(seed, "push", "-q", str(bare), "main", env=env)
    for n, files in ((7, {"src/a.py": "print(1)\n" * 3, "docs/b.md": "b\n"}), (8, {"c.txt": "c\n"})):
        git(seed, "checkout", "-q", "-b", f"pr{n}", "main", env=env)
        for name, text in files.items():
            (seed / name).parent.mkdir(parents=True, exist_ok=True)
            (seed / name).write_text(text)
        git(seed, "add", "-A", env=env)
        git(seed, "commit", "-qm", f"pr {n}", env=env)
        git(seed, "push", "-q", str(bare), f"pr{n}:refs/pull/{n}/head", env=env)
    work = dirs["work"]
    work.rmdir()
    subprocess.run(["git", "clone", "-q", "https://github.com/acme/app", str(work)], check=True, env=env)
    (work / "local.txt").write_text("uncommitted work of the user\n")
    git(work, "add", "local.txt", env=env)  # staged, so the index holds something to protect
    (work / "README").write_text("edited, not staged\n")
    return env, work, bare, seed
