"""pickup.py with real git, offline: a bare repository stands in for GitHub (git's
`url.<bare>.insteadOf https://github.com/acme/app` in the user's global git config), with PR heads
under refs/pull/N/head; the emulator's sessions carry the matching PR URLs.

In every test the user's working tree is provably untouched: its branch, index, HEAD, status and
files are compared before and after.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from conftest import run_script
from git_world import git, make_world

PR7 = "https://github.com/acme/app/pull/7"


@pytest.fixture
def world(tmp_path, dirs, emu):
    return make_world(tmp_path, dirs, emu)


def snapshot(work: Path, env: dict) -> dict:
    files = {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in work.rglob("*") if p.is_file() and ".git" not in p.relative_to(work).parts}
    safe = ("-c", "core.fsmonitor=false")  # the test's own look must not run a hostile config either
    return {"head": git(work, *safe, "rev-parse", "HEAD", env=env),
            "branch": git(work, *safe, "branch", "--show-current", env=env),
            "status": git(work, *safe, "status", "--porcelain", env=env),
            "index": (work / ".git" / "index").read_bytes(), "files": files,
            "branches": git(work, *safe, "branch", "--list", "main", env=env)}


def session_with(emu, *urls) -> str:
    return emu.create_session_direct(title="t", prompt="p", status="running", status_detail="finished",
                                     pull_requests=[{"pr_url": u, "pr_state": "open"} for u in urls])["session_id"]


def pick(env, work, *args):
    return run_script("pickup.py", *args, env=env, cwd=work)


def test_pickup_puts_the_pr_in_a_worktree_outside_and_leaves_the_user_alone(world, emu):
    env, work, _bare, seed = world
    before = snapshot(work, env)
    sid = session_with(emu, PR7)
    r = pick(env, work, sid, "--json")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    wt = Path(doc["worktree"])
    assert wt == work.parent / f"{work.name}-devin-pr-7" and not str(wt).startswith(str(work) + "/")
    assert doc["branch"] == "devin/pr-7" and doc["head"] == git(seed, "rev-parse", "pr7", env=env)
    assert sorted((f["path"], f["added"], f["deleted"]) for f in doc["files"]) == [("docs/b.md", 1, 0),
                                                                                  ("src/a.py", 3, 0)]
    assert (wt / "src" / "a.py").read_text() == "print(1)\n" * 3
    assert snapshot(work, env) == before
    text = pick(env, work, sid)  # the same head again: nothing to update, the files shown fenced
    assert text.rc == 0 and text.out.startswith(f"Picked up {PR7}") and "src/a.py" in text.out
    assert "--- begin untrusted content" in text.out


def test_a_second_pickup_fast_forwards_and_refuses_over_local_changes(world, emu):
    env, work, bare, seed = world
    sid = session_with(emu, PR7)
    first = json.loads(pick(env, work, sid, "--json").out)
    git(seed, "checkout", "-q", "pr7", env=env)
    (seed / "src" / "a.py").write_text("print(2)\n")
    git(seed, "commit", "-qam", "more", env=env)
    git(seed, "push", "-q", str(bare), "pr7:refs/pull/7/head", env=env)
    before = snapshot(work, env)
    again = json.loads(pick(env, work, sid, "--json").out)
    assert again["worktree"] == first["worktree"] and again["updated"] is True and again["head"] != first["head"]
    assert (Path(again["worktree"]) / "src" / "a.py").read_text() == "print(2)\n"
    (Path(again["worktree"]) / "mine.txt").write_text("local")
    r = pick(env, work, sid, "--json")
    assert r.rc == 2 and "local changes" in json.loads(r.out)["error"]["message"]
    assert (Path(again["worktree"]) / "mine.txt").exists() and snapshot(work, env) == before


def test_several_prs_need_a_choice_and_a_foreign_or_missing_pr_is_refused(world, emu):
    env, work, _bare, _seed = world
    sid = session_with(emu, PR7, "https://github.com/acme/app/pull/8")
    r = pick(env, work, sid, "--json")
    assert r.rc == 2 and "--pr" in json.loads(r.out)["error"]["message"]
    r = pick(env, work, sid, "--pr", "8", "--json")
    assert r.rc == 0 and json.loads(r.out)["branch"] == "devin/pr-8"
    other = session_with(emu, "https://github.com/other/repo/pull/3")
    r = pick(env, work, other, "--json")
    assert r.rc == 2 and "no remote of this repository points to github.com/other/repo" in r.out
    none = session_with(emu)
    r = pick(env, work, none, "--json")
    assert r.rc == 5 and "no pull request" in r.out


HOSTILE = ["https://github.com/acme/app/pull/7/../../../evil/pull/1", "https://github.com/-acme/app/pull/7",
           "https://github.com/acme/app/pull/7 --upload-pack=touch${IFS}pwned", "https://evil.example/acme/app/pull/7",
           "https://github.com.evil.example/acme/app/pull/7", "http://github.com/acme/app/pull/7",
           "https://github.com/acme/app/pull/07", "https://github.com/acme/app/pull/-7",
           "https://github.com/acme/../pull/7", "https://github.com/acme/app/pull/7#x",
           "https://github.com/acme/app.git/pull/7", "https://gith\u0443b.com/acme/app/pull/7",
           "https://github.com/acme/app/pull/7\n", "--help", "", "https://github.com/acme/.../pull/7",
           "https://user@github.com/acme/app/pull/7"]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_pr_urls_never_reach_git(world, emu, url, tmp_path):
    env, work, _bare, _seed = world
    trace = tmp_path / "git-trace"
    sid = session_with(emu, url)
    r = pick(dict(env, GIT_TRACE=str(trace)), work, sid, "--json")
    assert r.rc == 2, r.out + r.err
    assert "refused before any git command" in json.loads(r.out)["error"]["message"]
    assert not trace.exists()  # git never ran
    assert not (work / "pwned").exists() and not (work.parent / "pwned").exists()


def test_outside_a_repository_and_a_dir_inside_the_tree_are_refused(world, emu, tmp_path):
    env, work, _bare, _seed = world
    sid = session_with(emu, PR7)
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    r = run_script("pickup.py", sid, "--json", env=env, cwd=elsewhere)
    assert r.rc == 2 and "not inside a git repository" in r.out
    home = Path(env["HOME"])
    for bad in ("sub/wt", "../wt", "/tmp/wt", ".hidden", "-rf", str(home / ".local" / "bin"), "~/.local/bin"):
        r = pick(env, work, sid, "--dir", bad, "--json")
        assert r.rc == 2 and "--dir" in r.out, (bad, r.out)
    assert not (work / "sub").exists() and not (home / ".local" / "bin").exists()
    (work.parent / "a-file").write_text("x")
    r = pick(env, work, sid, "--dir", "a-file", "--json")
    assert r.rc == 2 and "not an empty folder" in r.out
    r = pick(env, work, sid, "--dir", "review-7", "--json")
    assert r.rc == 0 and json.loads(r.out)["worktree"] == str(work.parent / "review-7")


def test_ssh_remote_forms_are_recognised():
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib"))
    from devin_plugin.pickup import parse_remote_url
    for url in ("git@github.com:acme/app.git", "ssh://git@github.com/acme/app", "https://github.com/acme/app.git",
                "https://x-token@github.com/acme/app/", "ssh://git@github.com:22/Acme/App.git"):
        assert parse_remote_url(url)[0] == "github.com", url
    for url in ("file:///tmp/x", "git@github.com:acme/../app", "https://github.com/acme", "ext::sh -c x"):
        assert parse_remote_url(url) is None, url


def test_pickup_of_a_pr_with_100_files_is_measured(world, emu, capsys):
    env, work, bare, seed = world
    git(seed, "checkout", "-q", "-b", "pr9", "main", env=env)
    for i in range(100):
        (seed / "many" / f"f{i}.txt").parent.mkdir(exist_ok=True)
        (seed / "many" / f"f{i}.txt").write_text(f"{i}\n" * 20)
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-qm", "100 files", env=env)
    git(seed, "push", "-q", str(bare), "pr9:refs/pull/9/head", env=env)
    sid = session_with(emu, "https://github.com/acme/app/pull/9")
    t0 = time.perf_counter()
    r = pick(env, work, sid, "--json")
    took = time.perf_counter() - t0
    assert r.rc == 0 and len(json.loads(r.out)["files"]) == 100
    with capsys.disabled():
        print(f"\npickup of a 100-file PR from the local bare repository: {took:.2f} s")


def test_the_users_repository_config_never_runs_and_the_token_never_reaches_git(world, emu, tmp_path):
    """The project (and so its .git/config) is the agent's to write, and pickup runs outside the sandbox:
    nothing in that config may run or redirect the fetch (attacker review, breaks 1 and 8)."""
    env, work, _bare, seed = world
    pwned = tmp_path / "pwned"
    cfg = work / ".git" / "config"
    cfg.write_text(cfg.read_text() + f"""[core]
\tsshCommand = sh -c 'env > {pwned}-ssh' --
\tfsmonitor = sh -c 'env > {pwned}-fsmonitor'
[credential]
\thelper = !sh -c 'env > {pwned}-credential'
[remote "mirror"]
\turl = git@github.com:acme/app.git
[url "git@github.com:"]
\tinsteadOf = https://github.com/
[filter "evil"]
\tsmudge = sh -c 'env > {pwned}-filter'
""")
    (work / ".gitattributes").write_text("* filter=evil\n")
    before = snapshot(work, env)
    sid = session_with(emu, PR7)
    r = pick(env, work, sid, "--json")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["head"] == git(seed, "rev-parse", "pr7", env=env)  # the canonical repository's PR, not a redirect
    assert list(tmp_path.glob("pwned*")) == []
    assert snapshot(work, env) == before
    wt = Path(doc["worktree"])
    assert (wt / ".git").read_text().startswith("gitdir: ")
    assert str(Path(env["XDG_STATE_HOME"])) in (wt / ".git").read_text()  # the mirror's, not the user's


def test_a_checked_out_branch_named_like_the_pickup_branch_is_never_moved(world, emu):
    env, work, _bare, _seed = world
    git(work, "checkout", "-q", "-b", "devin/pr-7", env=env)
    before = snapshot(work, env)
    sid = session_with(emu, PR7)
    r = pick(env, work, sid, "--json")
    assert r.rc == 0 and json.loads(r.out)["worktree"] != str(work)
    assert snapshot(work, env) == before  # attacker review, break 4


def test_a_pr_symlink_is_checked_out_as_a_plain_file(world, emu):
    env, work, bare, seed = world
    git(seed, "checkout", "-q", "-b", "pr11", "main", env=env)
    (seed / "key").symlink_to(Path(env["HOME"]) / ".ssh" / "id_rsa")
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-qm", "link", env=env)
    git(seed, "push", "-q", str(bare), "pr11:refs/pull/11/head", env=env)
    sid = session_with(emu, "https://github.com/acme/app/pull/11")
    doc = json.loads(pick(env, work, sid, "--json").out)
    link = Path(doc["worktree"]) / "key"
    assert not link.is_symlink() and link.read_text().endswith(".ssh/id_rsa")
