"""The pinned npm tools the tests drive: the Claude Code client and the Gemini CLI.

Each is installed once into the cache (~/.cache/devin-plugin-dev/<name>-<version>, outside the
repository); an executable named by DEVIN_PLUGIN_CLAUDE_BIN / DEVIN_PLUGIN_GEMINI_BIN wins.
"""

import os
import shutil
import subprocess
import tempfile
import time

from .util import DevError, FileLock, cache_root, fmt_secs, log, run_quiet_or_fail

CLAUDE_PACKAGE = "@anthropic-ai/claude-code"
CLAUDE_VERSION = "2.1.330"
CLAUDE_ENV = "DEVIN_PLUGIN_CLAUDE_BIN"
# Gemini CLI, only for its offline `gemini extensions validate` (tests/plugin/test_manifests.py).
GEMINI_PACKAGE = "@google/gemini-cli"
GEMINI_VERSION = "0.61.0"
GEMINI_ENV = "DEVIN_PLUGIN_GEMINI_BIN"


def npm_env():
    """The environment for npm: node also trusts the system's CA bundle (as pip does), in case no
    npmrc names a cafile (a fresh HOME otherwise fails with SELF_SIGNED_CERT_IN_CHAIN here)."""
    env = dict(os.environ)
    system_cas = "/etc/ssl/certs/ca-certificates.crt"
    if "NODE_EXTRA_CA_CERTS" not in env and os.path.isfile(system_cas):
        env["NODE_EXTRA_CA_CERTS"] = system_cas
    return env


def claude_bin_in(prefix):
    return os.path.join(prefix, "node_modules", ".bin", "claude")


def claude_version_ok(binary):
    """Run `claude --version` offline in a throwaway HOME."""
    home = tempfile.mkdtemp(prefix="devin-plugin-claude-home-")
    try:
        env = dict(os.environ)
        env.update(
            HOME=home,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_TELEMETRY="1",
            DISABLE_AUTOUPDATER="1",
        )
        env.pop("ANTHROPIC_API_KEY", None)
        try:
            proc = subprocess.run(
                [binary, "--version"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        text = proc.stdout.decode("utf-8", "replace").strip()
        return proc.returncode == 0 and CLAUDE_VERSION in text, text
    finally:
        shutil.rmtree(home, ignore_errors=True)


def ensure_npm_tool(title, package, version, bin_name, env_var, size, verify=None):
    """Install package@version once into the cache (outside the repo); return its binary.

    An executable named by env_var wins. The install goes to a scratch directory next to the
    target and is renamed into place only once it works, so an interrupted install is never
    mistaken for a finished one (npm's .bin links are relative, so renaming is safe).
    verify(work_dir) returns (ok, text) for a fresh install; text is kept in the marker.
    """
    override = os.environ.get(env_var)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise DevError(f"{env_var}={override} is not an executable file")
        return override
    name = package.rsplit("/", 1)[-1]
    target = os.path.join(cache_root(), f"{name}-{version}")
    binary = os.path.join(target, "node_modules", ".bin", bin_name)
    marker = os.path.join(target, ".dev-installed")
    if os.path.isfile(marker) and os.access(binary, os.X_OK):
        return binary
    with FileLock(f"{name}-{version}"):
        if os.path.isfile(marker) and os.access(binary, os.X_OK):
            return binary
        npm = shutil.which("npm")
        if not npm:
            raise DevError("npm not found on PATH; install Node.js and npm (e.g. `apt-get install nodejs npm`)")
        start = time.monotonic()
        log(f"installing {title} {version} into {target} (one time, {size}) ...")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        work = tempfile.mkdtemp(prefix=f".{name}-install-", dir=os.path.dirname(target))
        try:
            run_quiet_or_fail(
                [
                    npm, "install",
                    "--prefix", work,
                    "--no-audit", "--no-fund",
                    "--no-update-notifier",
                    "--engine-strict=false",  # Claude Code declares node>=22; works on 20
                    "--ignore-scripts=false",  # Claude Code's postinstall places its binary
                    "--loglevel=error",
                    f"{package}@{version}",
                ],
                f"npm install {package}@{version}",
                cwd=work,
                env=npm_env(),
            )
            ok, text = verify(work) if verify else (True, version)
            if not ok:
                raise DevError(f"installed {title} does not run: `{bin_name} --version` said {text[-300:]!r}")
            with open(os.path.join(work, ".dev-installed"), "w", encoding="utf-8") as f:
                f.write(text + "\n")
            if os.path.lexists(target):
                shutil.rmtree(target)
            os.rename(work, target)
            os.chmod(target, 0o755)
        finally:
            if os.path.isdir(work):
                shutil.rmtree(work, ignore_errors=True)
        log(f"{title} {version} installed in {fmt_secs(start)}")
    return binary


def _verify_claude(work):
    work_bin = claude_bin_in(work)
    ok, text = claude_version_ok(work_bin)
    if not ok:
        # The package's postinstall copies the native binary over a placeholder; if npm
        # skipped scripts, run it ourselves.
        pkg = os.path.join(work, "node_modules", *CLAUDE_PACKAGE.split("/"))
        node = shutil.which("node")
        if node and os.path.isfile(os.path.join(pkg, "install.cjs")):
            run_quiet_or_fail([node, "install.cjs"], "claude-code postinstall", cwd=pkg)
            ok, text = claude_version_ok(work_bin)
    return ok, text


def ensure_claude():
    """The pinned Claude Code client."""
    return ensure_npm_tool(
        "Claude Code", CLAUDE_PACKAGE, CLAUDE_VERSION, "claude", CLAUDE_ENV, "~380 MB", verify=_verify_claude
    )


def ensure_gemini():
    """The pinned Gemini CLI (only for its offline `gemini extensions validate`)."""
    return ensure_npm_tool("Gemini CLI", GEMINI_PACKAGE, GEMINI_VERSION, "gemini", GEMINI_ENV, "~100 MB")
