"""A download's body read into one buffer (confluence/client.py: _read_body), over real HTTP from a local server:
with and without a declared length, encoded bodies that decode to more than they declared, and the size limit."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from confluence.client import _read_body
from errors import UpstreamError

BODY = os.urandom(300_000)
TEXT = b"line of an attachment that compresses well\n" * 20_000  # 860 KB, gzipped to a few KB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path == "/declared":
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 70_000):
                piece = BODY[start : start + 70_000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/gzip":
            packed = gzip.compress(TEXT)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)
        else:  # an empty body
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def read(url: str, max_bytes: int = 10_000_000) -> bytearray:
    with requests.get(url, stream=True, timeout=10) as response:
        declared = response.headers.get("Content-Length")
        return _read_body(response, int(declared) if declared else None, max_bytes)


def test_a_declared_length_is_filled_in_place_and_the_buffer_is_exactly_the_body(server: str) -> None:
    data = read(server + "/declared")
    assert data == BODY and len(data) == len(BODY)


def test_a_body_without_a_length_grows_as_it_arrives(server: str) -> None:
    assert read(server + "/chunked") == BODY


def test_an_encoded_body_may_decode_to_more_than_it_declared(server: str) -> None:
    assert read(server + "/gzip") == TEXT


def test_an_empty_body(server: str) -> None:
    assert read(server + "/empty") == b""


@pytest.mark.parametrize("path", ["/chunked", "/gzip"])
def test_a_body_over_the_limit_is_refused_while_it_arrives(server: str, path: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        read(server + path, max_bytes=100_000)
    assert caught.value.code == "attachment_too_large"
