"""Configuration: allowed API bases and token checks (environment and token file)."""

from __future__ import annotations

import os

import pytest

from devin_plugin import config
from devin_plugin.errors import ConfigError


@pytest.mark.parametrize("raw,origin", [
    ("https://api.devin.ai", "https://api.devin.ai"),
    ("https://api.devin.ai/", "https://api.devin.ai"),
    ("https://API.DEVIN.AI:443", "https://api.devin.ai"),
    ("https://api.acme.devinenterprise.com", "https://api.acme.devinenterprise.com"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ("http://localhost:9", "http://localhost:9"),
    ("http://[::1]:9000", "http://[::1]:9000"),
])
def test_allowed_base_urls(raw, origin):
    assert config.parse_base_url(raw).origin == origin


@pytest.mark.parametrize("raw", [
    "http://api.devin.ai", "https://api.devin.ai:8443", "https://api.devin.ai.", "https://evil.example",
    "https://api.devin.ai@evil.example", "https://user:pw@api.devin.ai", "https://api.devin.ai/v3",
    "https://api.devin.ai?x=1", "https://api.devin.ai#x", "ftp://127.0.0.1", "https://devinenterprise.com",
    "https://api.x.devinenterprise.com.evil.example", "https://10.0.0.1", "https://api.devin.ai\\@evil",
    "https://api.devin.ai:notaport", "https://api.dev in.ai", "file:///etc/passwd", "//api.devin.ai"])
def test_refused_base_urls(raw):
    with pytest.raises(ConfigError) as exc:
        config.parse_base_url(raw)
    assert "allowed" in exc.value.message


def test_token_checks(tmp_path):
    with pytest.raises(ConfigError, match="apk_"):
        config.read_token({"DEVIN_SERVICE_USER_TOKEN": "apk_user_abcdefghijklmnop"})
    with pytest.raises(ConfigError, match="does not look like"):
        config.read_token({"DEVIN_SERVICE_USER_TOKEN": "cog_ab cd efgh"})
    with pytest.raises(ConfigError, match="no Devin token"):
        config.read_token({})
    assert config.read_token({"DEVIN_SERVICE_USER_TOKEN": " cog_abcdefghij\n"}) == "cog_abcdefghij"
    f = tmp_path / "tok"
    f.write_text("cog_fromfile123456\n")
    os.chmod(f, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        config.read_token({"DEVIN_TOKEN_FILE": str(f)})
    os.chmod(f, 0o600)
    assert config.read_token({"DEVIN_TOKEN_FILE": str(f)}) == "cog_fromfile123456"
    link = tmp_path / "link"
    link.symlink_to(f)
    with pytest.raises(ConfigError, match="symlink"):
        config.read_token({"DEVIN_TOKEN_FILE": str(link)})
    with pytest.raises(ConfigError, match="regular file"):
        config.read_token({"DEVIN_TOKEN_FILE": str(tmp_path)})
