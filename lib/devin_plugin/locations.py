"""Where the token lives, as the user and Claude Code's settings write it (with `~`): one definition for
the scripts (config), the SessionStart hook that writes it, the sandbox settings that hide it and the
guard hook that blocks commands naming it. Constants only, so the guard hook pays nothing for it."""

TOKEN_FILE = "~/.config/devin/token"
CREDENTIALS_FILE = "~/.claude/.credentials.json"  # Claude Code's, where the plugin's token option is kept
