"""The PR URL from the API is untrusted: a property over generated URLs (hypothesis) that whatever is
accepted is exactly https://github.com/OWNER/REPO/pull/N with GitHub's own name rules, and that
git can only ever see the remote, the refspec built from the number, and fixed options."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from devin_plugin.errors import InvalidInput
from devin_plugin.pickup import parse_pr_url

ENV: dict = {}
PIECES = st.sampled_from(["github.com", "acme", "app", "pull", "7", "/", "..", ".", "-", "--", " ", "\n", "%2e",
                          "@", ":", "?", "#", ".git", "\u200b", "\uff0f", "GITHUB.COM", "0", "x" * 40, "https://"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=12).map("".join))
def test_anything_accepted_is_a_plain_github_pull_url(tail):
    url = "https://" + tail
    try:
        pr = parse_pr_url(url, ENV)
    except InvalidInput as err:
        assert "refused before any git command" in err.message
        return
    assert url == f"https://github.com/{pr.owner}/{pr.repo}/pull/{pr.number}"
    assert re.fullmatch(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*", pr.owner) and len(pr.owner) <= 39
    assert re.fullmatch(r"[A-Za-z0-9._-]+", pr.repo) and set(pr.repo) != {"."} and not pr.repo.endswith(".git")
    assert pr.number > 0 and not pr.owner.startswith("-")


@pytest.mark.parametrize("host,ok", [("github.example.com", True), ("evil.example", False)])
def test_the_enterprise_host_is_allowed_only_when_configured(host, ok):
    env = {"DEVIN_GITHUB_HOST": "github.example.com"}
    url = f"https://{host}/acme/app/pull/3"
    if ok:
        assert parse_pr_url(url, env).host == host
    else:
        with pytest.raises(InvalidInput):
            parse_pr_url(url, env)
    with pytest.raises(InvalidInput, match="not a host name"):
        parse_pr_url(url, {"DEVIN_GITHUB_HOST": "--upload-pack=x"})
