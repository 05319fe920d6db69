"""Bring a session's pull request home: fetch its head into a new git worktree, never touching the
user's current branch, index or files, never pushing, never running anything from the PR.

The PR URL comes from the API and is untrusted: it must be exactly https://HOST/OWNER/REPO/pull/N
(HOST github.com, or the enterprise host the user configured in DEVIN_GITHUB_HOST) before any git
command runs, and it reaches git only as data: the remote is one the user already has, the refspec
is built from the number, and every git call is an argument list (no shell).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidInput, NetworkError, NotFound

OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"   # GitHub: letters, digits, single inner hyphens
REPO = r"(?!\.+/)(?![A-Za-z0-9._-]*\.git/)[A-Za-z0-9._-]{1,100}"  # followed by "/pull/": no dots-only, no .git
HOST = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
NUMBER = r"[1-9][0-9]{0,9}"
REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
GIT_TIMEOUT_S = 300


@dataclass(frozen=True)
class PullRequest:
    host: str
    owner: str
    repo: str
    number: int
    url: str

    def names(self, other: tuple[str, str, str]) -> bool:
        """Whether a remote's (host, owner, repo) is this PR's repository (GitHub ignores case)."""
        return (self.host, self.owner.lower(), self.repo.lower()) == (other[0], other[1].lower(), other[2].lower())


def hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    extra = (env.get("DEVIN_GITHUB_HOST") or "").strip().lower()
    if extra and not re.fullmatch(HOST, extra):
        raise InvalidInput(f"DEVIN_GITHUB_HOST {extra[:100]!r} is not a host name (allowed: a DNS name such as "
                           "github.example.com)")
    return ("github.com", extra) if extra and extra != "github.com" else ("github.com",)


def parse_pr_url(url: Any, env: Mapping[str, str]) -> PullRequest:
    allowed = hosts(env)
    text = url if isinstance(url, str) else ""
    m = re.fullmatch(rf"https://(?P<host>{HOST})/(?P<owner>{OWNER})/(?P<repo>{REPO})/pull/(?P<n>{NUMBER})", text)
    if not m or m.group("host") not in allowed:
        shown = ascii(text[:120]) if text else repr(type(url).__name__)
        raise InvalidInput(f"the session's pull request URL {shown} is not https://{'|'.join(allowed)}/OWNER/REPO/"
                           "pull/N; refused before any git command (set DEVIN_GITHUB_HOST for an enterprise GitHub)")
    return PullRequest(m.group("host"), m.group("owner"), m.group("repo"), int(m.group("n")), text)


def parse_remote_url(url: str) -> tuple[str, str, str] | None:
    """(host, owner, repo) of a GitHub remote in its https or ssh form, or None."""
    pats = (rf"https://(?:[^@/\s]+@)?(?P<host>{HOST})(?::443)?/(?P<owner>{OWNER})/(?P<repo>[A-Za-z0-9._-]{{1,100}}?)"
            r"(?:\.git)?/?",
            rf"ssh://(?:[A-Za-z0-9._-]+@)?(?P<host>{HOST})(?::[0-9]{{1,5}})?/(?P<owner>{OWNER})/"
            r"(?P<repo>[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?",
            rf"(?:[A-Za-z0-9._-]+@)?(?P<host>{HOST}):(?P<owner>{OWNER})/(?P<repo>[A-Za-z0-9._-]{{1,100}}?)(?:\.git)?/?")
    for pat in pats:
        m = re.fullmatch(pat, url.strip())
        if m and m.group("repo") not in (".", ".."):
            return m.group("host").lower(), m.group("owner"), m.group("repo")
    return None


def session_prs(session: Mapping[str, Any]) -> list[Any]:
    prs = session.get("pull_requests")
    return [p.get("pr_url") for p in prs if isinstance(p, dict)] if isinstance(prs, list) else []


def choose(session: Mapping[str, Any], wanted: str | None, env: Mapping[str, str]) -> PullRequest:
    """The PR to pick up: the only one, or the one `--pr` names (its URL or its number)."""
    urls = session_prs(session)
    sid = session.get("session_id")
    if not urls:
        raise NotFound(f"session {sid} has no pull request yet; nothing to pick up")
    if wanted is None:
        if len(urls) > 1:
            listed = ", ".join(ascii(u)[:130] for u in urls[:10])
            raise InvalidInput(f"session {sid} has {len(urls)} pull requests ({listed}); choose one with --pr URL or "
                               "--pr NUMBER")
        return parse_pr_url(urls[0], env)
    if re.fullmatch(NUMBER, wanted):
        valid = [p for p in (_try(u, env) for u in urls) if p and p.number == int(wanted)]
        if len(valid) != 1:
            raise InvalidInput(f"--pr {wanted}: the session has {'no' if not valid else 'more than one'} pull "
                               "request with that number; give its URL")
        return valid[0]
    chosen = parse_pr_url(wanted, env)
    if chosen.url not in urls:
        raise InvalidInput(f"--pr {ascii(wanted[:120])} is not one of session {sid}'s pull requests")
    return chosen


def _try(url: Any, env: Mapping[str, str]) -> PullRequest | None:
    try:
        return parse_pr_url(url, env)
    except InvalidInput:
        return None


# -- git ----------------------------------------------------------------------------------------
#
# The user's repository is the agent's to write (it is the project), so its git configuration is
# untrusted: a core.sshCommand, credential.helper, filter or url rewrite there would run or redirect
# with this exempt script's rights. So git never runs in it. Its .git/config is only read, as text, to
# check that the user works in a clone of the PR's repository; the PR is fetched from its canonical URL
# into a bare mirror the plugin owns (under the state folder, which the sandbox keeps read-only), and
# the worktree belongs to that mirror. The user's global configuration still applies (credentials for
# a private repository); filters are switched off, so nothing in the PR's .gitattributes runs.

MIRROR_CONFIG = ("core.hooksPath=/dev/null", "core.fsmonitor=false", "advice.detachedHead=false",
                 "filter.lfs.smudge=", "filter.lfs.process=", "filter.lfs.required=false",
                 "core.symlinks=false")  # a PR's symlink is checked out as a file naming its target


def git_env(env: Mapping[str, str]) -> dict:
    """The user's environment for git minus the plugin's credentials and whatever would point git at
    another repository or make it ask."""
    out = {k: v for k, v in env.items()
           if not k.startswith(("DEVIN_", "CLAUDE_PLUGIN_OPTION_")) and k not in (
               "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE",
               "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXEC_PATH", "GIT_SSH",
               "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF")}
    out.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0", GIT_LFS_SKIP_SMUDGE="1")
    return out


class Git:
    """git as an argument list; hooks, fsmonitor and filters off (nothing from the PR runs). Every call
    names its directory: there is no default that could be the user's repository."""

    def __init__(self, env: Mapping[str, str]):
        self.env = git_env(env)

    def run(self, *args: str, cwd: str, check: bool = True) -> subprocess.CompletedProcess:
        options = [x for c in MIRROR_CONFIG for x in ("-c", c)]
        cmd = ["git", *options, "-C", cwd, *args]
        try:
            done = subprocess.run(cmd, capture_output=True, env=self.env, timeout=GIT_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise InvalidInput("git is not installed or not on PATH") from None
        except subprocess.TimeoutExpired:
            raise NetworkError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s; stopped") from None
        if check and done.returncode != 0:
            raise GitFailed(args[0], done.stderr)
        return done

    def out(self, *args: str, cwd: str) -> str:
        return self.run(*args, cwd=cwd).stdout.decode("utf-8", "replace").strip()


class GitFailed(InvalidInput):
    def __init__(self, what: str, stderr: bytes):
        from .output import safe
        text = safe(stderr.decode("utf-8", "replace")).strip().splitlines()
        super().__init__(f"git {what} failed: {(text[-1] if text else 'no message')[:300]}")


def repo_top(cwd: str) -> tuple[Path, Path]:
    """(the working tree's top, its .git folder), found by walking up, without running git."""
    here = Path(cwd).resolve()
    for top in (here, *here.parents):
        dot = top / ".git"
        if dot.is_dir():
            return top, dot
        if dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace")[:4096].strip()
            if text.startswith("gitdir:"):
                gd = Path(text[len("gitdir:"):].strip())
                gd = (gd if gd.is_absolute() else top / gd).resolve()
                common = gd / "commondir"
                if common.is_file():
                    gd = (gd / common.read_text(encoding="utf-8", errors="replace").strip()).resolve()
                if gd.is_dir():
                    return top, gd
    raise InvalidInput(f"{cwd} is not inside a git repository: run this in a clone of the pull request's repository")


def remote_urls(gitdir: Path) -> list[tuple[str, str]]:
    """(remote, url) pairs of the repository's config, read as text (never through git)."""
    try:
        text = (gitdir / "config").read_text(encoding="utf-8", errors="replace")[:1 << 20]
    except OSError:
        return []
    out, remote = [], None
    for raw in text.splitlines():
        line = raw.strip()
        m = re.fullmatch(r'\[\s*remote\s+"([^"\\]*)"\s*\]', line)
        if m:
            remote = m.group(1)
        elif line.startswith("["):
            remote = None
        elif remote is not None:
            kv = re.fullmatch(r"url\s*=\s*(\S+)", line)
            if kv:
                out.append((remote, kv.group(1)))
    return out


def check_clone(gitdir: Path, pr: PullRequest) -> str:
    """The remote of the user's repository that names the PR's repository (a guard: the PR is fetched
    from its canonical URL, never from the remote's URL)."""
    for name, url in remote_urls(gitdir):
        parsed = parse_remote_url(url)
        if REMOTE_NAME.fullmatch(name) and parsed and pr.names(parsed):
            return name
    raise InvalidInput(f"no remote of this repository points to {pr.host}/{pr.owner}/{pr.repo} (the pull request's "
                       f"repository); run this inside a clone of it, or add one: git remote add devin-pr "
                       f"https://{pr.host}/{pr.owner}/{pr.repo}")


def mirror_dir(state_dir: Path, pr: PullRequest) -> Path:
    return state_dir / "pulls" / pr.host / pr.owner.lower() / (pr.repo.lower() + ".git")


def _worktrees(git: Git, mirror: str) -> dict[str, str]:
    """branch ref -> worktree path of the mirror."""
    out, path = {}, None
    for line in git.out("worktree", "list", "--porcelain", cwd=mirror).splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree "):]
        elif line.startswith("branch ") and path:
            out[line[len("branch "):]] = path
    return out


def target_dir(top: Path, number: int, directory: str | None, env: Mapping[str, str]) -> Path:
    """Next to the user's repository: <repo>-devin-pr-N, or --dir NAME (a new folder beside it). Never
    inside the repository, never a protected folder: this script runs outside the sandbox."""
    from .localfiles import protected_dirs, under
    name = directory if directory is not None else f"{top.name}-devin-pr-{number}"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", name):
        raise InvalidInput(f"--dir {ascii(name)[:80]}: give a folder name (letters, digits, '.', '_', '-'; not "
                           "starting with '.'); the worktree goes beside the repository")
    target = (top.parent / name).resolve()
    if target.parent != top.parent.resolve() or under(str(target), str(top)):
        raise InvalidInput(f"--dir {name}: the worktree goes beside the repository, not inside it")
    for shown, real in protected_dirs(env):
        if under(str(target), real) or under(real, str(target)):
            raise InvalidInput(f"--dir {name}: {shown} is protected; choose another folder")
    return target


def pickup(session: Mapping[str, Any], *, wanted: str | None, cwd: str, env: Mapping[str, str], state_dir: Path,
           directory: str | None = None) -> dict:
    pr = choose(session, wanted, env)  # every check on the untrusted URL, before any git command
    top, gitdir = repo_top(cwd)
    remote = check_clone(gitdir, pr)
    target = target_dir(top, pr.number, directory, env)
    mirror = mirror_dir(state_dir, pr)
    git = Git(env)
    if not (mirror / "HEAD").is_file():
        from .audit import ensure_private_dir
        ensure_private_dir(state_dir)
        mirror.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        git.run("init", "-q", "--bare", str(mirror), cwd=str(mirror.parent))
    m = str(mirror)
    canonical = f"https://{pr.host}/{pr.owner}/{pr.repo}"
    ref = f"refs/devin/pr/{pr.number}"
    try:
        git.run("fetch", "--no-tags", "--no-write-fetch-head", "--end-of-options", canonical,
                f"+refs/pull/{pr.number}/head:{ref}", "+HEAD:refs/devin/base", cwd=m)
    except GitFailed as err:
        raise NetworkError(f"could not fetch pull request {pr.number} from {canonical}: {err.message}") from None
    head = git.out("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", cwd=m)
    branch = f"devin/pr-{pr.number}"
    existing = _worktrees(git, m).get(f"refs/heads/{branch}")
    updated, before = False, None
    if existing and Path(existing).is_dir():
        target = Path(existing)
        if git.out("status", "--porcelain", cwd=existing):
            raise InvalidInput(f"the worktree {existing} has local changes; commit or stash them there, then pick "
                               "up again. Nothing was changed.")
        before = git.out("rev-parse", "HEAD", cwd=existing)
        if before != head:
            try:
                git.run("merge", "--ff-only", "--end-of-options", head, cwd=existing)
            except GitFailed:
                raise InvalidInput(f"the pull request's new head is not a fast-forward of {existing} (force-pushed?); "
                                   f"remove it with: git worktree remove {existing} and pick up again") from None
            updated = True
    else:
        git.run("worktree", "prune", cwd=m)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidInput(f"{target} exists and is not an empty folder; choose another --dir")
        git.run("branch", "-f", "--end-of-options", branch, head, cwd=m)
        git.run("worktree", "add", str(target), branch, cwd=m)
    base = git.run("merge-base", "refs/devin/base", head, check=False, cwd=m).stdout.decode().strip()
    return {"session_id": session.get("session_id"), "pr_url": pr.url, "remote": remote, "branch": branch,
            "worktree": str(target), "head": head, "updated": updated, "previous_head": before,
            "files": changed_files(git, m, base or head, head)}


def changed_files(git: Git, mirror: str, base: str, head: str) -> list[dict]:
    raw = git.run("diff", "--numstat", "-z", "--no-renames", "--end-of-options", base, head, cwd=mirror).stdout
    files = []
    for rec in raw.split(b"\0"):
        if not rec:
            continue
        added, deleted, path = rec.split(b"\t", 2)
        files.append({"path": path.decode("utf-8", "replace"), "added": _count(added), "deleted": _count(deleted)})
    return files


def _count(raw: bytes) -> int | None:
    return int(raw) if raw.isdigit() else None  # "-" for a binary file
