"""``rma users``, ``rma tokens``, ``rma audit`` and ``rma organisation``.

These run on the server, as its operator: whoever can run them can read the database
anyway, so they need no sign-in; each change is audited as ``operator:<login name>``.
There are no default credentials: the first admin is made here,
``rma users create --role admin --email ...``, with the password typed at a hidden
prompt or read from standard input (``--password-stdin``), never given as an argument
that would land in the shell's history or the process list.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from rma.accounts.approvals import Organisation
from rma.accounts.audit import AuditLog
from rma.accounts.directory import Directory, UserView
from rma.accounts.permissions import ROLES, Actor
from rma.accounts.tokens import Tokens
from rma.config import Settings
from rma.db import Database
from rma.db.cli import run_on_database
from rma.errors import NotFound

T = TypeVar("T")
ISO = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])


def operator() -> Actor:
    """The person at the server's command line, as the audit log names them."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor(f"operator:{login}", kind="operator", via="cli")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask for the password: use --password-stdin")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_line(user: UserView) -> str:
    state = "enabled" if user.active else "disabled"
    if user.locked_until and user.locked_until > datetime.now(UTC):
        state += f", locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
    last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
    return (
        f"#{user.id:<4} {user.email:<36} {user.role:<10} {user.team or '-':<20} "
        f"{state:<10} last sign-in {last}"
    )


async def _user_id(directory: Directory, email: str) -> int:
    user = await directory.user_by_email(email)
    if user is None:
        raise NotFound(f"there is no user {email!r} (rma users list)")
    return user.id


# ------------------------------------------------------------------- rma users


@click.group("users")
def users_group() -> None:
    """People's accounts: create, list, disable, enable, reset passwords, set roles."""


@users_group.command("create")
@click.option("--email", required=True, help="What they sign in with.")
@click.option("--name", "display_name", default="", help="How pages show them.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
@click.option("--team", default=None, help="Their team (made if it does not exist yet).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_create(
    email: str, display_name: str, role: str, team: str | None, password_stdin: bool
) -> None:
    """Create an account (the first admin too). The password is asked for, never given
    as an option."""
    password = _password(password_stdin)

    async def work(settings: Settings, database: Database) -> UserView:
        return await Directory(database, settings).create_user(
            operator(), email=email, display_name=display_name, role=role,
            password=password, team=team,
        )  # fmt: skip

    user = run_on_database(work)
    click.echo(f"created {_user_line(user)}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
def users_list(as_json: bool) -> None:
    """Every account, with its role, team, state and last sign-in."""
    users = run_on_database(lambda settings, database: Directory(database, settings).users())
    if as_json:
        click.echo(json.dumps([u.as_dict() for u in users], indent=2))
        return
    if not users:
        click.echo("no users yet: rma users create --role admin --email ...")
    for user in users:
        click.echo(_user_line(user))


def _change(email: str, change: Callable[[Directory, int], Awaitable[UserView]]) -> None:
    async def work(settings: Settings, database: Database) -> UserView:
        directory = Directory(database, settings)
        return await change(directory, await _user_id(directory, email))

    click.echo(_user_line(run_on_database(work)))


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable an account: its sessions end and its tokens stop working at once."""
    _change(email, lambda d, uid: d.set_active(operator(), uid, False))


@users_group.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable a disabled account again (and clear a lockout)."""
    _change(email, lambda d, uid: d.set_active(operator(), uid, True))


@users_group.command("reset-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password (asked for); unlocks the account and ends its sessions."""
    password = _password(password_stdin)
    _change(email, lambda d, uid: d.reset_password(operator(), uid, password))


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
def users_set_role(email: str, role: str) -> None:
    """Change an account's role."""
    _change(email, lambda d, uid: d.set_role(operator(), uid, role))


@users_group.command("set-team")
@click.argument("email")
@click.argument("team")
def users_set_team(email: str, team: str) -> None:
    """Move an account to TEAM ("-" for no team)."""
    _change(email, lambda d, uid: d.set_team(operator(), uid, None if team == "-" else team))


# ------------------------------------------------------------------- rma tokens


@click.group("tokens")
def tokens_group() -> None:
    """API tokens: personal ones for people's scripts, service ones for the services."""


@tokens_group.command("create")
@click.option("--user", "email", default=None, help="A personal token for this account.")
@click.option("--service", default=None, help="A service token for this service account.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Expires after this.")
def tokens_create(email: str | None, service: str | None, name: str, days: int | None) -> None:
    """Create a token and print it once: it cannot be shown again. A service account
    named by --service is created if it does not exist yet."""
    if (email is None) == (service is None):
        raise click.UsageError("give --user EMAIL (personal) or --service NAME (service)")

    async def work(settings: Settings, database: Database) -> tuple[str, datetime | None]:
        directory = Directory(database, settings)
        tokens = Tokens(database, default_days=settings.rma_token_days)
        if email is not None:
            new = await tokens.create_personal(
                operator(), await _user_id(directory, email), name, days
            )
        else:
            assert service is not None
            try:
                account = await directory.service_account(service)
            except NotFound:
                account = await directory.create_service_account(operator(), service)
                click.echo(f"created service account {service}", err=True)
            new = await tokens.create_service(operator(), account, name, days)
        return new.secret, new.expires_at

    secret, expires = run_on_database(work)
    until = f"expires {expires:%Y-%m-%d %H:%M} UTC" if expires else "no expiry"
    click.echo(f"token ({until}); shown once, keep it now:", err=True)
    click.echo(secret)


@tokens_group.command("list")
@click.option("--user", "email", default=None, help="Only this account's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def tokens_list(email: str | None, as_json: bool) -> None:
    """Tokens (never their secrets): owner, state, expiry, last use."""

    async def work(settings: Settings, database: Database) -> list[dict[str, Any]]:
        user_id = None if email is None else await _user_id(Directory(database, settings), email)
        return [t.as_dict() for t in await Tokens(database).list(user_id=user_id)]

    tokens = run_on_database(work)
    if as_json:
        click.echo(json.dumps(tokens, indent=2))
        return
    if not tokens:
        click.echo("no tokens")
    for t in tokens:
        click.echo(
            f"#{t['id']:<4} {t['token']:<20} {t['kind']:<8} {t['owner']:<30} {t['state']:<8} "
            f"expires {t['expires_at'] or 'never'}  {t['name']}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (the number `rma tokens list` shows): refused from now on."""
    token = run_on_database(
        lambda settings, database: Tokens(database).revoke(operator(), token_id)
    )
    click.echo(f"revoked #{token.id} {token.prefix}{token.public_id}_... ({token.owner})")


# ------------------------------------------------------------------- rma audit


@click.group("audit")
def audit_group() -> None:
    """The audit log: verify its chain, export it, purge entries past retention."""


@audit_group.command("verify")
@click.option("--expect-head", default=None, help="A head hash recorded earlier, elsewhere.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
def audit_verify(expect_head: str | None, as_json: bool) -> None:
    """Check every entry's hash and its link to the one before; exit 1 on any problem."""
    found = run_on_database(lambda settings, database: AuditLog(database).verify(expect_head))
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2))
    else:
        first = found.first_seq if found.first_seq is not None else "-"
        click.echo(f"{found.entries} entries ({first} to {found.head_seq}); head {found.head_hash}")
        for problem in found.problems:
            click.echo(f"PROBLEM: {problem}")
        click.echo("the chain is intact" if found.ok else "the audit log was tampered with")
    sys.exit(0 if found.ok else 1)


@audit_group.command("export")
@click.option("--since", type=ISO, default=None, help="Only entries from this date (UTC).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="The file to write (default: standard output).",
)
def audit_export(since: datetime | None, output: str) -> None:
    """Every entry as JSON lines (oldest first), with the hashes that chain them."""

    async def work(settings: Settings, database: Database) -> int:
        count = 0
        with click.open_file(output, "w", encoding="utf-8") as out:
            start = since.replace(tzinfo=UTC) if since else None
            async for entry in AuditLog(database).stream(since=start):
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
                count += 1
        return count

    count = run_on_database(work)
    click.echo(f"{count} entries exported", err=True)


@audit_group.command("purge")
@click.option(
    "--before", type=ISO, default=None, help="Remove entries older than this (default: retention)."
)
@click.option("--yes", is_flag=True, help="Remove them (without it: say what would go).")
def audit_purge(before: datetime | None, yes: bool) -> None:
    """Remove entries past RMA_AUDIT_RETENTION_DAYS (a dry run unless --yes). The chain
    stays verifiable: the last removed entry becomes its anchor, and the purge is itself
    recorded."""

    async def work(settings: Settings, database: Database) -> Any:
        cutoff = (
            before.replace(tzinfo=UTC)
            if before
            else datetime.now(UTC) - timedelta(days=settings.rma_audit_retention_days)
        )
        return await AuditLog(database).purge(cutoff, operator(), dry_run=not yes)

    report = run_on_database(work)
    what = "would remove" if report.dry_run else "removed"
    span = f" (entries {report.first_seq} to {report.last_seq})" if report.first_seq else ""
    click.echo(f"{what} {report.removed} entries older than {report.before:%Y-%m-%d}{span}")
    if report.dry_run and report.removed:
        click.echo("run again with --yes to remove them")


# ------------------------------------------------------------------- rma organisation


@click.group("organisation")
def organisation_group() -> None:
    """The organisation's settings (whether letters need a supervisor's approval)."""


@organisation_group.command("show")
def organisation_show() -> None:
    """Each setting, its value, and who set it (or that it is the default)."""
    found = run_on_database(lambda settings, database: Organisation(database).settings())
    for key, setting in found.items():
        changed = f" (set by {setting['updated_by']})" if setting["updated_by"] else " (default)"
        click.echo(f"{key} = {str(setting['value']).lower()}{changed}: {setting['what']}")


@organisation_group.command("set")
@click.argument("key")
@click.argument("value", type=click.BOOL)
def organisation_set(key: str, value: bool) -> None:
    """Set KEY to VALUE (true or false)."""
    found = run_on_database(
        lambda settings, database: Organisation(database).change(operator(), key, value)
    )
    click.echo(f"{key} = {str(found['value']).lower()}")


commands = [users_group, tokens_group, audit_group, organisation_group]
