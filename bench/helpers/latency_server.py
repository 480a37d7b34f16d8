"""A minimal asyncio HTTP/1.1 server that answers chat completions after a fixed latency.

Used by bench/http_backend.py. It is deliberately lighter than tests/fake_openai.py (a
thread per connection), so that the benchmark measures the client, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json

BODY = json.dumps({"id": "x", "object": "chat.completion", "model": "fake-model",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "I can't help."}}],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 3}}).encode()
MODELS = json.dumps({"data": [{"id": "fake-model"}]}).encode()


def response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 latency: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET"):
                writer.write(response(MODELS))
            else:
                await asyncio.sleep(latency)
                writer.write(response(BODY))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve(port_file: str, latency: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, latency), "127.0.0.1", 0)
    with open(port_file, "w") as out:
        out.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(serve(args.port_file, args.latency))


if __name__ == "__main__":
    main()
