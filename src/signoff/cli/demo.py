"""The demo workspace: people, workflows, two agents and proposals in every tier."""

from __future__ import annotations

from typing import Any

import typer

from signoff.cli.common import LOCAL_ADMIN, open_signoff
from signoff.config import Settings
from signoff.domain.actions import ActionRequest, Impact, InputRef
from signoff.domain.identities import Principal, PrincipalKind
from signoff.services import identities, workflows
from signoff.services.actions import submit_action

__all__ = ["DEMO_PASSWORD", "seed_demo"]

DEMO_PASSWORD = "signoff-demo-password"

PEOPLE = [
    ("olivia@example.com", "Olivia Owner", ["owner", "reviewer"]),
    ("frank@example.com", "Frank Finance", ["owner", "reviewer"]),
    ("sam@example.com", "Sam Support", ["owner", "reviewer"]),
    ("rita@example.com", "Rita Reviewer", ["reviewer"]),
    ("sid@example.com", "Sid Security", ["reviewer"]),
    ("audrey@example.com", "Audrey Auditor", ["auditor"]),
]

WORKFLOWS = [
    ("prod-deploys", "olivia@example.com", ["rita@example.com"], ["release-reviewers"]),
    ("iam-changes", "olivia@example.com", ["sid@example.com"], ["security"]),
    ("refunds", "frank@example.com", ["rita@example.com"], ["finance-leads"]),
    ("support-email", "sam@example.com", ["rita@example.com"], []),
]

GROUPS = [
    ("release-reviewers", ["rita@example.com", "sid@example.com"]),
    ("security", ["sid@example.com"]),
    ("finance-leads", ["frank@example.com", "rita@example.com"]),
    ("admins", ["admin@example.com"]),
]


def _proposals() -> list[tuple[str, ActionRequest]]:
    def req(workflow: str, kind: str, target: str, params: dict[str, Any], summary: str,
            *, reversible: bool = True, external: bool = False, impact: str = "",
            inputs: tuple[InputRef, ...] = (), on_behalf_of: str | None = None
            ) -> ActionRequest:
        return ActionRequest(workflow=workflow, kind=kind, target=target, params=params,
                             summary=summary, inputs=inputs,
                             impact=Impact(reversible=reversible, external=external,
                                           description=impact),
                             on_behalf_of=on_behalf_of)

    ticket = InputRef(source="zendesk", ref="T-4711",
                      excerpt="I was charged twice for order 8812, please refund one charge.")
    return [
        ("deploy-bot", req("prod-deploys", "deploy.release", "svc/payments-api",
                           {"version": "2.14.0", "environment": "production", "canary": 0.1},
                           "Release payments-api 2.14.0 to production behind a 10% canary. "
                           "Changelog: retry budget fix, new fraud score threshold.",
                           impact="customer-facing API; rollback takes ~5 minutes",
                           inputs=(InputRef("github", "PR #1289", "fix: retry budget"),),
                           on_behalf_of="rita@example.com")),
        ("deploy-bot", req("prod-deploys", "deploy.release", "staging/payments-api",
                           {"version": "2.15.0-rc1", "environment": "staging"},
                           "Deploy the 2.15.0 release candidate to staging for the nightly "
                           "soak test.", impact="staging only; no customer traffic")),
        ("deploy-bot", req("iam-changes", "iam.grant", "user:contractor-17",
                           {"role": "prod-db-readonly", "duration": "8h"},
                           "Grant the contractor read-only production database access for "
                           "the incident INC-204 investigation.", reversible=True,
                           impact="production data becomes readable by a contractor")),
        ("support-bot", req("refunds", "payments.send", "cus_8812",
                            {"amount": 49.0, "currency": "EUR", "reason": "duplicate charge"},
                            "Refund the duplicate charge of EUR 49.00 on order 8812.",
                            reversible=False, external=True, impact="money leaves the account",
                            inputs=(ticket,))),
        ("support-bot", req("refunds", "payments.send", "cus_1200",
                            {"amount": 5400.0, "currency": "EUR", "reason": "goodwill"},
                            "Goodwill refund of EUR 5,400 after the outage on 2026-11-28.",
                            reversible=False, external=True,
                            impact="large payment to a customer")),
        ("support-bot", req("support-email", "email.send", "customer:ana@example.net",
                            {"subject": "Your refund", "body": "Hello Ana, we refunded the "
                             "duplicate charge. It will reach your card in 3-5 days."},
                            "Tell the customer the duplicate charge was refunded.",
                            external=True, impact="the customer reads this email",
                            inputs=(ticket,))),
        ("support-bot", req("support-email", "draft.reply", "ticket:T-4711",
                            {"text": "Draft: thanks for reaching out…"},
                            "Draft a reply for a human agent to edit.")),
        ("support-bot", req("support-email", "note.add", "ticket:T-4711",
                            {"text": "Customer confirmed the duplicate charge."},
                            "Add an internal note to the ticket.")),
        ("deploy-bot", req("prod-deploys", "secrets.read", "prod/db-password", {},
                           "Read the production database password to run a migration.",
                           impact="exposes a production secret to the agent")),
    ]


def seed_demo(settings: Settings, *, url: str) -> None:
    with open_signoff(settings) as so:
        ctx = so.ctx
        with ctx.uow(readonly=True) as uow:
            seeded = uow.workflows.get("prod-deploys") is not None
        if not seeded:
            for email, name, roles in PEOPLE:
                identities.create_user(ctx, LOCAL_ADMIN, email=email, name=name, roles=roles,
                                       password=DEMO_PASSWORD)
            for name, members in GROUPS:
                identities.create_group(ctx, LOCAL_ADMIN, name=name, members=members)
            for name, owner, backups, groups in WORKFLOWS:
                workflows.create_workflow(ctx, LOCAL_ADMIN, name=name, owner_email=owner,
                                          backups=backups, groups=groups)
            bots: dict[str, tuple[str, str]] = {}
            for name, owner, scoped, kinds in [
                ("deploy-bot", "olivia@example.com", ["prod-deploys", "iam-changes"],
                 ["deploy.*", "release.*", "iam.*", "secrets.*", "signoff.agent.elevate"]),
                ("support-bot", "sam@example.com", ["refunds", "support-email"],
                 ["payments.*", "email.*", "draft.*", "note.*", "summarise.*"]),
            ]:
                agent, token = identities.create_agent(
                    ctx, LOCAL_ADMIN, name=name, owner_email=owner,
                    scopes={"workflows": scoped, "kinds": kinds},
                    labels={"model": "demo-model", "environment": "demo"})
                bots[name] = (agent.id, token)
            for bot, request in _proposals():
                principal = Principal(kind=PrincipalKind.AGENT, id=bots[bot][0], name=bot)
                action, _ = submit_action(ctx, principal, request)
                typer.echo(f"  {bot:12} {request.kind:16} -> {action.status.value:8} "
                           f"({action.tier})")
            token_file = settings.data_dir / "demo-agent-tokens.txt"
            token_file.write_text("".join(f"{n}={t}\n" for n, (_, t) in bots.items()))
            token_file.chmod(0o600)
        typer.echo("")
        typer.echo(f"signoff demo is ready at {url}")
        typer.echo(f"  console: {url}/console  sign in as olivia@example.com, frank@example.com, "
                   f"rita@example.com or audrey@example.com (auditor)")
        typer.echo(f"  password for every demo person: {DEMO_PASSWORD}")
        typer.echo("  admin: admin@example.com / signoff-demo-admin")
        tokens = settings.data_dir / "demo-agent-tokens.txt"
        typer.echo(f"  agent tokens: {tokens}")
        typer.echo("")
        typer.echo("What to try:")
        typer.echo("  1. Sign in as frank@example.com, open the EUR 5,400 refund in the inbox, "
                   "read it for the review time shown, then approve or reject with a rationale.")
        typer.echo("  2. Propose as an agent (low risk runs at once, high risk waits for you):")
        typer.echo(f"     TOKEN=$(grep support-bot {tokens} | cut -d= -f2)")
        typer.echo(f"     curl -s {url}/v1/actions -H \"Authorization: Bearer $TOKEN\" "
                   "-H 'content-type: application/json' -d '{\"workflow\":\"refunds\","
                   "\"kind\":\"payments.send\",\"target\":\"cus_1\","
                   "\"params\":{\"amount\":20}}'")
        typer.echo("  3. Pull the kill switch:  signoff agent suspend support-bot --reason test")
        typer.echo("  4. Check the record:      signoff audit verify && "
                   "signoff evidence --since 2020-01-01 --format md")
