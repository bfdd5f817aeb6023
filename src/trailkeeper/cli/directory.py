"""`trailkeeper org|workspace|token ...`: the directory from the command line."""

from __future__ import annotations

import time

import click

from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.directory import admin
from trailkeeper.directory.records import KNOWN_SCOPES, TokenRecord


@click.group()
def org() -> None:
    """Manage organizations."""


@org.command("create")
@click.option("--id", "org_id", required=True, help="Organization id, e.g. E0123ABCD.")
@click.option("--name", required=True, help="Display name.")
@click.option("--domain", required=True, help="Short domain, e.g. acme.")
def org_create(org_id: str, name: str, domain: str) -> None:
    """Create an organization."""
    store = migrated_store(settings_from_env())
    created = admin.create_organization(store, org_id, name, domain)
    click.echo(f"organization {created.id} ({created.name})")


@org.command("list")
def org_list() -> None:
    """List organizations."""
    for o in migrated_store(settings_from_env()).list_organizations():
        click.echo(f"{o.id}\t{o.domain}\t{o.name}")


@click.group()
def workspace() -> None:
    """Manage workspaces."""


@workspace.command("create")
@click.option("--id", "workspace_id", required=True, help="Workspace id, e.g. T0123ABCD.")
@click.option("--org", "org_id", required=True, help="Organization the workspace belongs to.")
@click.option("--name", required=True, help="Display name.")
@click.option("--domain", required=True, help="Short domain.")
def workspace_create(workspace_id: str, org_id: str, name: str, domain: str) -> None:
    """Create a workspace in an organization."""
    store = migrated_store(settings_from_env())
    created = admin.create_workspace(store, workspace_id, org_id, name, domain)
    click.echo(f"workspace {created.id} ({created.name}) in {created.org_id}")


@click.group()
def token() -> None:
    """Manage API tokens (stored only as hashes)."""


@token.command("create")
@click.option("--org", "org_id", required=True, help="Organization the token belongs to.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(sorted(KNOWN_SCOPES)),
    help="auditlogs:read and/or auditlogs:write.",
)
@click.option("--label", default="", help="A note saying what the token is for.")
def token_create(org_id: str, scopes: tuple[str, ...], label: str) -> None:
    """Create a token and print it, alone, on stdout (it cannot be shown again)."""
    store = migrated_store(settings_from_env())
    secret, record = admin.issue_token(store, org_id, frozenset(scopes), label)
    click.echo(f"created {record.id} for {org_id} ({' '.join(sorted(scopes))})", err=True)
    click.echo(secret)


def _when(stamp: int | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else "-"


def _token_line(r: TokenRecord) -> str:
    state = f"revoked {_when(r.revoked_at)}" if r.revoked_at else "active"
    return (
        f"{r.id}\t{r.org_id}\t{','.join(sorted(r.scopes))}\t{state}\t"
        f"created {_when(r.created_at)}\tlast used {_when(r.last_used_at)}\t{r.label}"
    )


@token.command("list")
@click.option("--org", "org_id", default=None, help="Only this organization's tokens.")
def token_list(org_id: str | None) -> None:
    """List tokens (ids, scopes, state, last use; never the tokens themselves)."""
    for record in migrated_store(settings_from_env()).list_tokens(org_id):
        click.echo(_token_line(record))


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by id; every server refuses it from the next request on."""
    admin.revoke_token(migrated_store(settings_from_env()), token_id)
    click.echo(f"revoked {token_id}")
