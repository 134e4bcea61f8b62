"""A request body read within a size limit, whether it declares its length or comes in chunks.

Nothing past the limit is read: a body over it is refused with 413 as soon as the limit is
passed. A chunked body (`Transfer-Encoding: chunked`, no Content-Length) is decoded by the
server when it says so (`wsgi.input_terminated`, as gunicorn does); Django's development
server hands over the raw stream, so the chunks are decoded here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest

from alerts_saas.ingest.parsing import Refused

BLOCK = 64 * 1024
MAX_LINE = 4096  # a chunk-size line or a trailer
MAX_TRAILERS = 64
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The body, refused with 413 once it passes `limit` bytes, before any more is read."""
    coding = request.META.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
    if not coding:
        if _content_length(request) > limit:
            raise _too_big(limit)
        body = request.read(limit + 1)  # the server stops at the Content-Length
        if len(body) > limit:
            raise _too_big(limit)
        return body
    if coding != "chunked":
        raise Refused(
            400,
            f"Transfer-Encoding “{coding[:40]}” is not supported: send the body as it is, "
            "or chunked.",
        )
    if request.META.get("CONTENT_LENGTH"):
        raise Refused(400, "Send either Content-Length or Transfer-Encoding: chunked, not both.")
    return _read_at_most(_chunked_input(request.META), limit)


def _content_length(request: HttpRequest) -> int:
    text = request.META.get("CONTENT_LENGTH") or "0"
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Refused(400, "The Content-Length header is not a number of bytes.")
    return int(text)


def _too_big(limit: int) -> Refused:
    return Refused(413, f"The body is over {in_words(limit)}. Send fewer events per request.")


def in_words(size: int) -> str:
    """A size in bytes as people write it: 5 MiB, 64 KiB, 10,000 bytes."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale:,} {unit}"
    return f"{size:,} bytes"


def _read_at_most(stream: Readable, limit: int) -> bytes:
    body = bytearray()
    while len(body) <= limit:
        block = stream.read(min(BLOCK, limit + 1 - len(body)))
        if not block:
            break
        body += block
    if len(body) > limit:
        raise _too_big(limit)
    return bytes(body)


def _chunked_input(environ: dict[str, Any]) -> Readable:
    """The decoded body: the server's stream if it decoded the chunks, else our decoder
    over the raw stream (unwrapped from the development server's LimitedStream, which,
    without a Content-Length, would read nothing)."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream
    if isinstance(stream, LimitedStream):
        return Dechunked(stream._read, stream._readline)  # type: ignore[attr-defined]
    return Dechunked(stream.read, stream.readline)


class Dechunked:
    """The data of an HTTP/1.1 chunked body (RFC 9112, section 7.1), read as asked for:
    chunk extensions are ignored, trailers read and dropped."""

    def __init__(self, read: Callable[[int], bytes], readline: Callable[[int], bytes]) -> None:
        self._read = read
        self._readline = readline
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def read(self, size: int = BLOCK, /) -> bytes:
        data = bytearray()
        while len(data) < size and not self._done:
            if not self._left:
                self._left = self._chunk_size()
                if not self._left:
                    self._skip_trailers()
                    self._done = True
                    break
            part = self._read(min(self._left, size - len(data)))
            if not part:
                raise _malformed("it ended inside a chunk")
            data += part
            self._left -= len(part)
            if not self._left and self._line() != b"":
                raise _malformed("a chunk is longer than its size says")
        return bytes(data)

    def _line(self) -> bytes:
        """The next line, without its line end; refused when cut short or too long."""
        line = self._readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise _malformed("a line is too long" if len(line) > MAX_LINE else "it ended early")
        return line.rstrip(b"\r\n")

    def _chunk_size(self) -> int:
        text = self._line().split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(text):
            raise _malformed("a chunk size is not a hexadecimal number")
        return int(text, 16)

    def _skip_trailers(self) -> None:
        for _ in range(MAX_TRAILERS):
            if not self._line():
                return
        raise _malformed("it has too many trailer fields")


def _malformed(why: str) -> Refused:
    return Refused(400, f"The chunked body is malformed: {why}.")
