"""The stdio gateway's pipe streams: framing as ``mcp``'s, stray output kept off the wire, and
stdin/stdout restored (blocking again) afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import os, sys
import anyio
from mcp.shared.message import SessionMessage
from signoff.mcp.stdio import stdio_streams

async def main():
    async with stdio_streams() as (read, write):
        print("stray output", flush=True)          # fd 1 is stderr meanwhile
        async with read, write:
            async for message in read:
                await write.send(SessionMessage(message.message))
    print("restored", os.get_blocking(0), os.get_blocking(1), flush=True)

anyio.run(main)
"""


def test_messages_round_trip_and_the_descriptors_are_restored() -> None:
    ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          input=json.dumps(ping) + "\n" + json.dumps(note) + "\n", timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [json.loads(x) for x in lines[:2]] == [ping, note]
    assert lines[2:] == ["restored True True"]
    assert "stray output" in proc.stderr
