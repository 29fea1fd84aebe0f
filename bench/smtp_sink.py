"""A receiving-only SMTP server for the send benchmark, in a process of its own.

The send benchmark times pagemail's send, not the receiving mail server: a production mail server takes a 15 MB
message in milliseconds, while the sandbox's aiosmtpd catcher (Python, line by line, in the benchmark's own
process) spends about half a second of CPU on it, on the same two cores as the app. This sink speaks just enough
ESMTP for smtplib (EHLO with SMTPUTF8 and 8BITMIME, MAIL, RCPT, DATA, RSET, NOOP, QUIT), reads DATA in large blocks
until the terminating dot, and counts each message and its size, so the benchmark can check every send arrived whole.
It never parses or keeps the mail.

    sink = SmtpSink.start()   # listening on 127.0.0.1:sink.port
    ... sink.messages, sink.bytes ...
    sink.stop()
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import socketserver
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized

from tests.servers import free_port

END_OF_DATA = b"\r\n.\r\n"
BLOCK = 1 << 20
MAX_LINE = 4096
EHLO_REPLY = b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n250 SIZE 104857600\r\n"


class _Handler(socketserver.StreamRequestHandler):
    server: _SinkServer

    def handle(self) -> None:
        write = self.wfile.write
        write(b"220 sink ESMTP\r\n")
        while line := self.rfile.readline(MAX_LINE):
            verb = line[:4].upper()
            if verb == b"EHLO":
                write(EHLO_REPLY)
            elif verb == b"DATA":
                write(b"354 end with <CRLF>.<CRLF>\r\n")
                size = self._read_data()
                if size < 0:
                    return
                with self.server.messages.get_lock():
                    self.server.messages.value += 1
                    self.server.bytes.value += size
                write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                write(b"221 2.0.0 bye\r\n")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP: accepted as they come
                write(b"250 2.0.0 ok\r\n")

    def _read_data(self) -> int:
        """Bytes up to the terminating dot; -1 when the client goes away first."""
        size, tail = 0, b"\r\n"  # the DATA line's own CRLF precedes the message
        while True:
            block = self.rfile.read1(BLOCK)
            if not block:
                return -1
            size += len(block)
            # The client waits for our reply after the dot, so the terminator ends the last read.
            tail = (tail + block[-len(END_OF_DATA) :])[-len(END_OF_DATA) :]
            if tail == END_OF_DATA:
                return size - 3  # the ".\r\n" is not part of the message


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, messages: Synchronized[int], total: Synchronized[int]) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.messages = messages
        self.bytes = total


def _serve(
    port: int, messages: Synchronized[int], total: Synchronized[int], ready: multiprocessing.synchronize.Event
) -> None:
    with _SinkServer(port, messages, total) as server:
        ready.set()
        server.serve_forever(poll_interval=0.2)


@dataclass
class SmtpSink:
    port: int
    process: multiprocessing.Process
    _messages: Synchronized[int]
    _bytes: Synchronized[int]

    @classmethod
    def start(cls) -> SmtpSink:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: none of the benchmark's threads
        messages, total, ready = context.Value("q", 0), context.Value("q", 0), context.Event()
        port = free_port()
        process = context.Process(target=_serve, args=(port, messages, total, ready), daemon=True)
        process.start()
        for _ in range(150):
            if ready.wait(0.2):
                return cls(port, process, messages, total)
            if not process.is_alive():
                break
        process.kill()
        raise RuntimeError("the SMTP sink did not start")

    @property
    def messages(self) -> int:
        return int(self._messages.value)

    @property
    def bytes(self) -> int:
        return int(self._bytes.value)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)
