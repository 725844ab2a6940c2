"""First start: the first admin of an empty workspace."""

from __future__ import annotations

from signoff.domain.identities import Human, PrincipalKind
from signoff.services.context import ServiceContext
from signoff.services.identities import create_user
from signoff.services.tokens import issue_token

__all__ = ["create_first_admin"]


def create_first_admin(ctx: ServiceContext, *, email: str, name: str,
                       password: str | None = None) -> tuple[Human, str] | None:
    """Create the first admin and an API token, or None when the workspace has users already."""
    with ctx.uow(readonly=True) as uow:
        if uow.humans.list():
            return None
    human = create_user(ctx, None, email=email, name=name, roles=["admin"], password=password)
    with ctx.uow() as uow:
        record, plain = issue_token(ctx, uow, kind=PrincipalKind.HUMAN, subject_id=human.id,
                                    name="init")
        uow.record(ctx.event("token.created", "system",
                             data={"token_id": record.id, "subject": f"human:{human.id}",
                                   "name": "init"}))
        uow.commit()
    return human, plain
