"""Property-based tests (hypothesis) of the payload policy and the id handling.

- A forbidden field in any spelling (case, surrounding or inner whitespace, separators, full-width,
  circled and mathematical look-alikes, zero-width characters, JSON \\u escapes, duplicate keys)
  is refused through every input channel and nothing is sent.
- Every payload the policy accepts is accepted by the API's create/message/tags shapes (the emulator).
- A string that is not a valid session id is refused before any request; every valid form round-trips.

Examples per property: DEVIN_PROPERTY_EXAMPLES (default 200; the in-process script runs use a
quarter of it, the real-process runs a fixed handful). Derandomized: CI sees the same examples.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import sys
import types
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, base_env, run_script

sys.path.insert(0, str(ROOT / "tools"))
from chaos import forbidden_spelling, run_inprocess  # noqa: E402

from devin_plugin import cli, config, ids  # noqa: E402
from devin_plugin import policy as policy_mod  # noqa: E402
from devin_plugin.errors import InvalidInput, PolicyError  # noqa: E402
from devin_plugin.fieldnames import FORBIDDEN_FIELDS, canonical, is_forbidden  # noqa: E402
from devin_plugin.http import Client  # noqa: E402

N = int(os.environ.get("DEVIN_PROPERTY_EXAMPLES", "200"))
PROPS = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.filter_too_much])
FEW = settings(PROPS, max_examples=max(10, N // 4))
ENDPOINT_MINIMUM = {"session_create": {"prompt": "x"}, "session_message": {"message": "x"},
                    "session_tags": {"tags": ["a"]}, "playbook_write": {"title": "t", "body": "b"},
                    "note_write": {"name": "n", "body": "b", "trigger": "t"}}


# -- strategies ------------------------------------------------------------------------------------

SEPARATORS = ["_", "-", ".", " ", "", "\t", "\u00a0", "\u3000", "\u200b", "\u200c", "\u200d", "\u2060",
              "\ufeff", "\u00ad", "\uff3f", "\uff0d", "/", ":", "__", "\u180e"]
ZERO_WIDTH = ["", "", "", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
PADDING = ["", "", " ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "  "]
SPECIAL = {"s": ["\u017f"], "k": ["\u212a"], "i": ["\u0130"]}


def lookalikes(ch: str) -> list[str]:
    if not ("a" <= ch <= "z"):
        return [ch]
    i = ord(ch) - ord("a")
    return [ch, ch.upper(), chr(0xFF41 + i), chr(0xFF21 + i), chr(0x24D0 + i), chr(0x24B6 + i),
            chr(0x1D41A + i), chr(0x1D400 + i)] + SPECIAL.get(ch, [])


@st.composite
def spellings(draw, names=FORBIDDEN_FIELDS):
    name = draw(st.sampled_from(names))
    parts = []
    for ch in name:
        if ch == "_":
            parts.append(draw(st.sampled_from(SEPARATORS)))
        else:
            parts.append(draw(st.sampled_from(lookalikes(ch))) + draw(st.sampled_from(ZERO_WIDTH)))
    return draw(st.sampled_from(PADDING)) + "".join(parts) + draw(st.sampled_from(PADDING))


def json_key(draw, key: str) -> str:
    """The key as JSON text, some characters written as \\u escapes."""
    out = []
    for ch in key:
        if ord(ch) < 0x10000 and draw(st.booleans()):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(json.dumps(ch)[1:-1])
    return '"' + "".join(out) + '"'


values = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(),
                   st.lists(st.dictionaries(st.sampled_from(["key", "value"]), st.text(max_size=5)), max_size=2))


@pytest.fixture(scope="module")
def pol(tmp_path_factory):
    return policy_mod.load(tmp_path_factory.mktemp("no-config"))


@pytest.fixture(scope="module")
def api():
    from devin_emulator import Emulator
    with Emulator(seed=7) as e:
        yield e


def test_the_spelling_generator_is_not_vacuous():
    rng = random.Random(0)
    for name in FORBIDDEN_FIELDS:
        assert canonical(forbidden_spelling(rng, name)) == canonical(name)
    assert canonical("ｃｒｅａｔｅ\u200b＿ⓐｓ-𝐮ser\u00adId") == "createasuserid"


# -- forbidden fields: the policy, in process --------------------------------------------------------

@PROPS
@given(key=spellings(), value=values, endpoint=st.sampled_from(sorted(ENDPOINT_MINIMUM)))
def test_forbidden_field_in_any_spelling_is_refused_by_the_policy(pol, key, value, endpoint):
    assert is_forbidden(key)
    payload = dict(ENDPOINT_MINIMUM[endpoint], **{key: value})
    with pytest.raises(PolicyError, match="forbidden"):
        pol.check(endpoint, payload)


@PROPS
@given(key=spellings(), value=values, data=st.data())
def test_forbidden_field_through_field_and_payload_file_is_refused(pol, tmp_path_factory, key, value, data):
    """Invocation.payload (what every body-sending script uses), then the policy: refused."""
    path = tmp_path_factory.mktemp("p") / "payload.json"
    text = "{" + json_key(data.draw, key) + ": " + json.dumps(value) + ', "prompt": "x"}'
    path.write_text(text, encoding="utf-8")
    for args in (types.SimpleNamespace(payload_file=str(path), field=None),
                 types.SimpleNamespace(payload_file=None, field=[f"{key}={json.dumps(value)}"]),
                 types.SimpleNamespace(payload_file=None, field=[f"{key}=bare word"])):
        if args.field and not args.field[0].partition("=")[0].strip():
            continue
        inv = cli.Invocation(args, json_mode=False, stdin=io.BytesIO(), env={})
        payload = inv.payload({"prompt": "x"})
        with pytest.raises(PolicyError, match="forbidden"):
            pol.check("session_create", payload)


@PROPS
@given(key=st.one_of(spellings(), st.sampled_from(["prompt", "title", "tags"]), st.text(max_size=6)),
       v1=values, v2=values, data=st.data())
def test_duplicate_json_keys_are_refused(key, v1, v2, data):
    k = json_key(data.draw, key)
    text = "{" + f'"prompt": "x", {k}: {json.dumps(v1)}, ' + json_key(data.draw, key) + f": {json.dumps(v2)}" + "}"
    with pytest.raises(InvalidInput, match="duplicate key"):
        cli.strict_json(text, "--payload-file")


# -- forbidden fields: the real scripts -----------------------------------------------------------------

@pytest.fixture
def ip(emu, dirs):
    def _run(name, *args, input=None):
        return run_inprocess(name, *args, env=base_env(dirs, emu), input=input, cwd=dirs["work"])
    return _run


def _channels(key: str, value, work) -> list[tuple[str, tuple, str | None]]:
    payload = work / "payload.json"
    payload.write_text(json.dumps({"prompt": "x", key: value}, ensure_ascii=False), encoding="utf-8")
    sid = "devin-" + "a" * 32
    out = [("create_session.py", ("--prompt", "x", "--field", f"{key}={json.dumps(value)}"), None),
           ("create_session.py", ("--payload-file", str(payload)), None),
           ("create_session.py", ("--payload-file", "-", "--json"), json.dumps({"prompt": "x", key: value})),
           ("send_message.py", (sid, "--message", "hi", "--field", f"{key}={json.dumps(value)}"), None),
           ("send_message.py", (sid, "--payload-file", str(payload)), None)]
    if key.strip() and not key.startswith(("-", " ")) and "=" not in key:
        out.append(("create_session.py", ("--prompt", "x", f"--{key.strip()}=u-1"), None))
    return out


@FEW
@given(key=spellings(), value=values)
def test_forbidden_field_through_every_script_channel_sends_nothing(emu, dirs, ip, key, value):
    emu.clear_journal()
    for script, args, stdin in _channels(key, value, dirs["work"]):
        if not key.strip() and "--field" in args:
            continue
        r = ip(script, *args, input=stdin)
        assert r.rc == 2, (script, args, r.all)
    assert emu.journal == []


def test_forbidden_field_through_real_processes_sends_nothing(emu, dirs):
    rng = random.Random(9)
    env = base_env(dirs, emu)
    for name in FORBIDDEN_FIELDS:
        key = forbidden_spelling(rng, name)
        for script, args, stdin in _channels(key, [{"key": "K", "value": "v"}], dirs["work"])[:3]:
            r = run_script(script, *args, env=env, input=stdin, cwd=dirs["work"])
            assert r.rc == 2 and "forbidden" in r.err, (key, script, r.all)
    assert emu.journal == []


# -- what the policy accepts, the API accepts ------------------------------------------------------------

def _text(**kw):
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), **kw)


ids_ = st.one_of(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,20}\Z"), _text(max_size=6))
urls = st.one_of(st.builds(lambda t: "https://" + t, st.from_regex(r"\A[a-z0-9./_-]{1,30}\Z")),
                 _text(max_size=10), st.just("http://x.example/a"))
schemas = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["object", "string", "nonsense"])},
                          optional={"description": _text(max_size=20),
                                    "properties": st.dictionaries(st.from_regex(r"\A[a-z]{1,5}\Z"),
                                                                  st.fixed_dictionaries({"type": st.sampled_from(
                                                                      ["string", "integer"])}), max_size=3),
                                    "$ref": st.sampled_from(["#/definitions/a", "https://x/s.json"])}),
    st.dictionaries(_text(max_size=4), _text(max_size=4), max_size=2))
good_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,20}\Z")
good_urls = st.builds(lambda t: "https://" + t, st.from_regex(r"\A[a-z0-9./_-]{1,30}\Z"))
valid_create = st.fixed_dictionaries({"prompt": _text(min_size=1, max_size=40)}, optional={
    "title": st.from_regex(r"\A[^\x00-\x1f\x7f]{1,80}\Z"),
    "tags": st.lists(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,10}\Z"), max_size=4, unique=True),
    "repos": st.lists(st.from_regex(r"\A[A-Za-z0-9_.-]{1,8}/[A-Za-z0-9_.-]{1,8}\Z"), max_size=3),
    "max_acu_limit": st.integers(1, 10000), "playbook_id": good_ids, "child_playbook_id": good_ids,
    "knowledge_ids": st.one_of(st.none(), st.lists(good_ids, max_size=3)),
    "secret_ids": st.one_of(st.none(), st.lists(good_ids, max_size=3)),
    "attachment_urls": st.lists(good_urls, max_size=3), "session_links": st.lists(good_urls, max_size=3),
    "structured_output_schema": schemas, "structured_output_required": st.booleans(),
    "devin_mode": st.sampled_from(["normal", "fast"]), "platform": st.sampled_from(["linux", "windows"]),
})
noisy_create = st.fixed_dictionaries({"prompt": st.one_of(_text(max_size=40), st.integers())}, optional={
    "title": _text(max_size=90),
    "tags": st.lists(st.one_of(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,10}\Z"), _text(max_size=5)),
                     max_size=4),
    "repos": st.lists(st.one_of(st.from_regex(r"\A[A-Za-z0-9_.-]{1,8}/[A-Za-z0-9_.-]{1,8}\Z"), _text(max_size=8)),
                      max_size=3),
    "max_acu_limit": st.one_of(st.integers(-3, 20000), st.floats(allow_nan=True), st.booleans(), _text(max_size=3)),
    "playbook_id": ids_, "child_playbook_id": ids_,
    "knowledge_ids": st.one_of(st.none(), st.lists(ids_, max_size=3)),
    "secret_ids": st.one_of(st.none(), st.lists(ids_, max_size=3)),
    "attachment_urls": st.lists(urls, max_size=3), "session_links": st.lists(urls, max_size=3),
    "structured_output_schema": schemas, "structured_output_required": st.one_of(st.booleans(), st.integers(0, 1)),
    "devin_mode": st.sampled_from(["normal", "fast", "ultra", ""]),
    # the org's platform labels are known only to the server (400 for others): see docs/security-figures.md
    "platform": st.sampled_from(["linux", "windows"]),
    "bypass_approval": st.booleans(), "advanced_mode": st.sampled_from(["analyze", "nope"]),
})
create_payloads = st.one_of(valid_create, noisy_create)


def _post(api, method, path, body):
    return requests.request(method, f"{api.url}/v3/organizations/{api.org_id}{path}", json=body, timeout=10,
                            headers={"Authorization": "Bearer " + api.token})


@PROPS
@given(payload=create_payloads)
@example(payload={"prompt": "x", "structured_output_schema": {"description": "é" * 20000}})
def test_every_create_payload_the_policy_accepts_the_api_accepts(pol, api, payload):
    try:
        pol.check("session_create", payload)
    except (PolicyError, InvalidInput) as exc:
        event(f"refused: {exc.kind}")
        return
    event("accepted by the policy")
    r = _post(api, "POST", "/sessions", payload)
    assert r.status_code == 200, (repr(payload)[:500], r.text[:300])


@PROPS
@given(payload=st.fixed_dictionaries({"message": st.one_of(_text(max_size=30), st.none())},
                                     optional={"attachment_urls": st.lists(urls, max_size=2)}),
       tags=st.lists(st.one_of(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:=+/@-]{0,70}\Z"), _text(max_size=5)),
                     max_size=4))
def test_every_message_and_tags_payload_the_policy_accepts_the_api_accepts(pol, api, payload, tags):
    sid = api.create_session_direct(api.org_id, prompt="p", status="running", status_detail="finished")["session_id"]
    try:
        pol.check("session_message", payload)
    except (PolicyError, InvalidInput):
        pass
    else:
        assert _post(api, "POST", f"/sessions/{sid}/messages", payload).status_code == 200
    try:
        pol.check("session_tags", {"tags": tags})
    except (PolicyError, InvalidInput):
        return
    r = _post(api, "PUT", f"/sessions/{sid}/tags", {"tags": tags})
    assert r.status_code == 200, r.text[:300]


# -- session ids ---------------------------------------------------------------------------------------

hex32 = st.from_regex(r"\A[0-9a-fA-F]{32}\Z")
WHITESPACE = st.sampled_from(["", " ", "\t", "\n", "  ", "\u00a0", "\u2003"])


@st.composite
def valid_forms(draw):
    h = draw(hex32)
    form = draw(st.sampled_from(["devin-{}", "{}", "https://app.devin.ai/sessions/{}", "HTTPS://App.Devin.AI/sessions/{}",
                                 "https://app.devin.ai:443/sessions/{}"]))
    return draw(WHITESPACE) + form.format(h) + draw(WHITESPACE), h


_BARE = re.compile(r"(?:devin-)?([0-9a-fA-F]{32})")


@PROPS
@given(form=valid_forms())
def test_every_valid_session_id_form_round_trips(form):
    raw, h = form
    sid = ids.normalize_session_id(raw)
    assert sid == "devin-" + h.lower() and ids.SESSION_ID.fullmatch(sid)
    assert ids.normalize_session_id(sid) == sid


@st.composite
def corrupted(draw):
    raw, _ = draw(valid_forms())
    raw = raw.strip()
    ops = draw(st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 80),
                                  st.characters(exclude_categories=("Cs",))), min_size=1, max_size=3))
    for op, pos, ch in ops:
        pos = pos % (len(raw) + 1)
        if op == "insert":
            raw = raw[:pos] + ch + raw[pos:]
        elif op == "delete" and raw:
            raw = raw[:pos] + raw[pos + 1:]
        elif raw:
            raw = raw[:pos] + ch + raw[pos + 1:]
    return raw


@PROPS
@given(raw=st.one_of(corrupted(), st.text(max_size=60), st.from_regex(r"\A[0-9a-fA-F\-/.%?#]{28,40}\Z")))
@example(raw="devin-" + "0" * 32 + "/..")
@example(raw="../" + "0" * 32)
@example(raw="%2e%2e")
def test_anything_else_is_refused_or_yields_the_one_id_it_names(raw):
    """Accepted input must name exactly one session (32 hex digits it contains); all other input is
    refused. Non-URL input is accepted only in the devin-<hex> or bare-hex forms."""
    try:
        sid = ids.normalize_session_id(raw)
    except InvalidInput as exc:
        assert "allowed" in exc.message
        text = raw.strip() if isinstance(raw, str) else ""
        assert not (len(raw) <= 300 and _BARE.fullmatch(text))
        return
    assert ids.SESSION_ID.fullmatch(sid)
    text = raw.strip()
    if text.lower().startswith(("https://", "http://")):
        assert sid[6:] in text.lower() and urlsplit(text).path.rsplit("/", 1)[-1].lower() == sid[6:]
    else:
        assert _BARE.fullmatch(text) and text.lower().endswith(sid[6:])


@PROPS
@given(form=valid_forms(), rid=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z"))
def test_checked_ids_land_in_the_path_unchanged(tmp_path_factory, form, rid):
    env = {"DEVIN_API_BASE": "http://127.0.0.1:9", "DEVIN_SERVICE_USER_TOKEN": "cog_abcdefghij",
           "DEVIN_ORG_ID": "org-abcd", "XDG_STATE_HOME": "/nonexistent"}
    c = Client(config.load(env))
    sid = ids.normalize_session_id(form[0])
    req = c.build("GET", "/organizations/{org_id}/sessions/{devin_id}/messages", path={"devin_id": sid})
    prepared = c._prepare(req)
    assert urlsplit(prepared.url).path == f"/v3/organizations/org-abcd/sessions/{sid}/messages"
    req = c.build("DELETE", "/organizations/{org_id}/playbooks/{playbook_id}", path={"playbook_id": rid})
    assert urlsplit(c._prepare(req).url).path == f"/v3/organizations/org-abcd/playbooks/{rid}"


@FEW
@given(raw=st.one_of(corrupted(), st.text(min_size=1, max_size=40)))
def test_invalid_session_ids_are_refused_by_the_scripts_before_a_request(emu, dirs, ip, raw):
    assume("\x00" not in raw and not raw.startswith("-"))
    try:
        ids.normalize_session_id(raw)
    except InvalidInput:
        pass
    else:
        assume(False)
    emu.clear_journal()
    for script in ("get_session.py", "terminate_session.py", "list_messages.py"):
        r = ip(script, raw, "--json")
        assert r.rc == 2 and r.json["error"]["kind"] == "invalid_input", (script, r.all)
    assert emu.journal == []
