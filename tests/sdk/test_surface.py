"""The SDK's public surface, and that importing it pulls in no server code."""

from __future__ import annotations

import subprocess
import sys

import signoff.client as sdk
from signoff import errors


def test_all_is_sorted_and_importable() -> None:
    assert sdk.__all__ == sorted(sdk.__all__)
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None
    for name in ("Denied", "Rejected", "Expired", "Cancelled", "NotApproved", "Unavailable",
                 "ProtocolError", "SignoffError"):
        assert getattr(sdk, name) is getattr(errors, name)


def test_importing_the_sdk_loads_no_server_code() -> None:
    code = (
        "import sys, signoff.client\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'fastapi',"
        " 'starlette', 'alembic'} or m.startswith(('signoff.domain', 'signoff.services',"
        " 'signoff.adapters', 'signoff.api', 'signoff.web', 'signoff.bootstrap')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
