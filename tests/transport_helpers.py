"""An in-process transport for the Client's seam (`transport=`), shared by the tests that need a server
shape the emulator cannot take (a production https host, another host name)."""

from __future__ import annotations

import io

import requests
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse


class FunctionTransport:
    """Answers each prepared request with handler(request) -> (status, headers, body bytes)."""

    def __init__(self, handler):
        self.handler, self.seen = handler, []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.seen.append(request)
        status, headers, body = self.handler(request)
        resp = requests.Response()
        resp.status_code, resp.headers = status, CaseInsensitiveDict(headers)
        resp.url, resp.request = request.url, request
        resp.raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False)
        return resp

    def close(self):
        pass
