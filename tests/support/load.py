"""Concurrent requests timed with as little client as possible.

A latency target of milliseconds cannot be measured with a client that spends
milliseconds of its own per request: 50 concurrent ``httpx`` calls from one Python
process on two cores measure the client's queue, not the server. Here each call is one
pre-built HTTP/1.1 request written on a kept-alive socket and its answer read back by its
``Content-Length``, so what is timed is the server's answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")


@dataclass(frozen=True)
class Timed:
    status: int
    ms: float
    body: bytes
    headers: dict[str, str]  # names in lower case


async def concurrent_gets(
    base: str,
    path: str,
    *,
    concurrency: int,
    rounds: int,
    pause: float = 0.0,
    headers: dict[str, str] | None = None,
) -> list[Timed]:
    """``rounds`` rounds of ``concurrency`` GETs of ``path`` sent at once, one per
    connection (opened and used once before timing starts); each answer and its time."""
    where = urlsplit(base)
    lines = [f"GET {path} HTTP/1.1", f"Host: {where.netloc}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    connections = [
        await asyncio.open_connection(where.hostname, where.port) for _ in range(concurrency)
    ]

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Timed:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = _LENGTH.search(head)
        body = await reader.readexactly(int(length.group(1)) if length else 0)
        ms = (time.perf_counter() - started) * 1000
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        named = {name.strip().lower(): value.strip() for name, value in fields.items()}
        return Timed(int(lines[0].split(" ", 2)[1]), ms, body, named)

    try:
        await asyncio.gather(*(one(r, w) for r, w in connections))  # warm up, untimed
        timed: list[Timed] = []
        for _ in range(rounds):
            timed += await asyncio.gather(*(one(r, w) for r, w in connections))
            await asyncio.sleep(pause)
        return timed
    finally:
        for _, writer in connections:
            writer.close()
