"""``uvicorn signoff.api.asgi:create --factory``: the app built from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from signoff.config import load_settings

__all__ = ["create"]


def create() -> FastAPI:
    from signoff.api.app import create_app
    from signoff.bootstrap import build

    return create_app(build(load_settings()))
