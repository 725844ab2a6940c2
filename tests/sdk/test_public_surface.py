"""``import signoff``: the curated public surface, and no server code behind it."""

from __future__ import annotations

import subprocess
import sys

import signoff
import signoff.client as sdk
from signoff import errors


def test_top_level_all_is_sorted_and_re_exports_the_sdk() -> None:
    assert signoff.__all__ == sorted(signoff.__all__)
    for name in signoff.__all__:
        assert getattr(signoff, name) is getattr(sdk, name)
    for name in ("Client", "AsyncClient", "verify_grant", "GrantVerifier", "Denied", "Rejected",
                 "Expired", "Cancelled", "NotApproved", "Unavailable", "ProtocolError",
                 "SignoffError"):
        assert name in signoff.__all__
    assert signoff.Rejected is errors.Rejected and issubclass(signoff.Denied,
                                                              signoff.NotApproved)


def test_importing_signoff_loads_no_server_code_and_no_framework() -> None:
    code = (
        "import sys, signoff\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'fastapi',"
        " 'starlette', 'alembic', 'langgraph', 'langchain_core', 'agents'} or m.startswith(("
        "'signoff.domain', 'signoff.services', 'signoff.adapters', 'signoff.api', "
        "'signoff.web', 'signoff.bootstrap', 'signoff.client.adapters')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
