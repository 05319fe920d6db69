"""Errors: the kinds and exit codes of the contract."""

from __future__ import annotations

from devin_plugin.errors import EXIT_CODES


def test_exit_codes_match_the_contract():
    assert EXIT_CODES == {"invalid_input": 2, "policy": 2, "config": 3, "auth": 4, "not_found": 5,
                          "rate_limited": 6, "unknown_outcome": 7, "network": 7, "api_error": 8, "timeout": 9}
