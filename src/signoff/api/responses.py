"""Fast JSON answers: orjson straight to bytes.

FastAPI runs ``jsonable_encoder`` over any plain return value, which costs more than the
database work on the proposal path; the hot endpoints return a ready Response instead.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

__all__ = ["json_response"]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_UTC_Z), status_code=status,
                    media_type="application/json")
