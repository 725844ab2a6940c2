"""``signoff user|agent|workflow|group …``: the local operator manages identities."""

from __future__ import annotations

from typing import Annotated

import typer

from signoff.cli.common import LOCAL_ADMIN, open_signoff, settings_for
from signoff.cli.server import DataDir, DbUrl
from signoff.errors import NotFound
from signoff.services import identities, stopping, workflows

Csv = Annotated[str, typer.Option(help="Comma-separated list.")]


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(help="Humans.", no_args_is_help=True)
    agent_app = typer.Typer(help="Agents.", no_args_is_help=True)
    wf_app = typer.Typer(help="Workflows.", no_args_is_help=True)
    group_app = typer.Typer(help="Reviewer groups.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    app.add_typer(agent_app, name="agent")
    app.add_typer(wf_app, name="workflow")
    app.add_typer(group_app, name="group")

    @user_app.command("add")
    def user_add(email: str, roles: Csv = "reviewer",
                 name: Annotated[str, typer.Option(help="Display name.")] = "",
                 password: Annotated[str | None, typer.Option(
                     envvar="SIGNOFF_USER_PASSWORD", help="Console password.")] = None,
                 token: Annotated[bool, typer.Option(help="Also print an API token.")] = False,
                 data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Add a human with roles (admin, owner, reviewer, auditor)."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            human = identities.create_user(so.ctx, LOCAL_ADMIN, email=email, name=name,
                                           roles=_split(roles), password=password)
            typer.echo(f"User {human.email} ({human.id}) roles={','.join(human.roles)}")
            if token:
                _, plain = identities.create_user_token(so.ctx, LOCAL_ADMIN, human.id,
                                                        name="cli")
                typer.echo(plain)

    @agent_app.command("add")
    def agent_add(name: str, owner: Annotated[str, typer.Option(help="Owner's email.")],
                  workflows_: Annotated[str, typer.Option("--workflows",
                                                          help="Workflows or *.")] = "*",
                  kinds: Csv = "*", data_dir: DataDir = None, database_url: DbUrl = None
                  ) -> None:
        """Register an agent; prints its API token once."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            agent, token = identities.create_agent(
                so.ctx, LOCAL_ADMIN, name=name, owner_email=owner,
                scopes={"workflows": _split(workflows_), "kinds": _split(kinds)})
            typer.echo(f"Agent {agent.name} ({agent.id}); API token (shown once):")
            typer.echo(token)

    @agent_app.command("token")
    def agent_token(agent: str, name: Annotated[str, typer.Option(help="Token name.")] = "cli",
                    data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Issue another API token for an agent (by name or id)."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            agent_id = _agent_id(so, agent)
            _, token = identities.create_agent_token(so.ctx, LOCAL_ADMIN, agent_id, name=name)
            typer.echo(token)

    @agent_app.command("suspend")
    def agent_suspend(agent: str, reason: Annotated[str, typer.Option(help="Why.")] = "",
                      data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Kill switch: cancel its pending actions, revoke its grants, refuse new ones."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            result = stopping.suspend_agent(so.ctx, LOCAL_ADMIN, _agent_id(so, agent),
                                            reason=reason or "suspended from the CLI")
            typer.echo(f"Suspended {agent}: {result['actions_cancelled']} pending actions "
                       f"cancelled, {result['grants_revoked']} grants revoked")

    @wf_app.command("add")
    def workflow_add(name: str, owner: Annotated[str, typer.Option(help="Owner's email.")],
                     backups: Csv = "", groups: Csv = "", data_dir: DataDir = None,
                     database_url: DbUrl = None) -> None:
        """Create a workflow with its accountable owner."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            wf = workflows.create_workflow(so.ctx, LOCAL_ADMIN, name=name, owner_email=owner,
                                           backups=_split(backups), groups=_split(groups))
            typer.echo(f"Workflow {wf.name} owned by {owner}")

    @wf_app.command("set-owner")
    def workflow_set_owner(name: str, owner: str, data_dir: DataDir = None,
                           database_url: DbUrl = None) -> None:
        """Hand a workflow to another accountable owner (audited)."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            workflows.set_workflow_owner(so.ctx, LOCAL_ADMIN, name, owner_email=owner)
            typer.echo(f"Workflow {name} is now owned by {owner}")

    @wf_app.command("freeze")
    def workflow_freeze(name: str, reason: Annotated[str, typer.Option(help="Why.")],
                        data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Stop everything in a workflow until it is unfrozen."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            workflows.freeze_workflow(so.ctx, LOCAL_ADMIN, name, reason=reason)
            typer.echo(f"Workflow {name} is frozen")

    @wf_app.command("unfreeze")
    def workflow_unfreeze(name: str, data_dir: DataDir = None,
                          database_url: DbUrl = None) -> None:
        """Let a frozen workflow run again."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            workflows.unfreeze_workflow(so.ctx, LOCAL_ADMIN, name)
            typer.echo(f"Workflow {name} is running again")

    @group_app.command("add")
    def group_add(name: str, members: Csv = "", data_dir: DataDir = None,
                  database_url: DbUrl = None) -> None:
        """Create a reviewer group from users' emails."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            identities.create_group(so.ctx, LOCAL_ADMIN, name=name, members=_split(members))
            typer.echo(f"Group {name} created")

    @group_app.command("set-members")
    def group_set_members(name: str, members: Csv = "", data_dir: DataDir = None,
                          database_url: DbUrl = None) -> None:
        """Replace a group's members (emails). Past decisions keep who was eligible then."""
        with open_signoff(settings_for(data_dir, database_url)) as so:
            group = identities.set_group_members(so.ctx, LOCAL_ADMIN, name,
                                                 members=_split(members))
            typer.echo(f"Group {name}: {len(group.members)} member(s)")

    @group_app.command("list")
    def group_list(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Groups and their members' emails (the pools behind group:NAME approvers)."""
        with open_signoff(settings_for(data_dir, database_url)) as so, \
                so.ctx.uow(readonly=True) as uow:
            groups = uow.groups.list()
            people = uow.humans.many(sorted({m for g in groups for m in g.members}))
        for g in groups:
            emails = sorted(people[m].email for m in g.members if m in people)
            typer.echo(f"{g.name}: {', '.join(emails) or '(no members)'}")


def _agent_id(so: object, name_or_id: str) -> str:
    ctx = so.ctx  # type: ignore[attr-defined]
    with ctx.uow(readonly=True) as uow:
        agent = uow.agents.get(name_or_id) or uow.agents.by_name(name_or_id)
    if agent is None:
        raise NotFound(f"no agent {name_or_id}")
    return agent.id  # type: ignore[no-any-return]
