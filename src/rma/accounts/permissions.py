"""Who may do what: the permission table, as data, and the one function that reads it.

Each row of :data:`PERMISSIONS` is an action, what it means in words, and, for each kind
of caller (anonymous, adviser, supervisor, admin, service), whether it is allowed and how
far: ``ALL`` (everything the action reaches) or, for an action on a client's case,
``TEAM`` (the caller's own cases and their team's). :func:`authorise` is the only code
that reads the table: the web app's routes (through ``permit``), the limits approvals
and the command line all ask it. docs/security.md shows the table, generated from it.

What it refuses: an action missing from the table (denied, whoever asks: a route added
without a rule is closed, and the permission-matrix test names it), any caller not in
a row, and approving one's own proposal or letter (``not_own`` rules).

It imports nothing from the database, so the limits register (below accounts in the
tree) can ask it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from rma.errors import Forbidden, Unauthenticated

ROLES: tuple[str, ...] = ("adviser", "supervisor", "admin")
# Every kind of caller the table has a column for, in the order docs show them. The
# operator is whoever runs `rma` on the server itself (never over HTTP).
CALLERS: tuple[str, ...] = ("anonymous", *ROLES, "service", "operator")
ActorKind = Literal["person", "service", "operator", "anonymous"]


class Grant(StrEnum):
    ALL = "all"  # everything the action reaches
    TEAM = "team"  # a client's case: only the caller's own and their team's


ALL, TEAM = Grant.ALL, Grant.TEAM


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (``role`` from their account), a service account, the
    operator at the server's command line, or nobody signed in. ``name`` is what records
    say did it (a person's email, a service account's name); ``via`` says how they
    proved it (session, token, service-token, api-key, cli)."""

    name: str
    role: str | None = None
    id: int | None = None
    team_id: int | None = None
    kind: ActorKind = "person"
    via: str = ""

    @property
    def caller(self) -> str:
        """The table's column for this actor ("" when none applies)."""
        if self.kind in ("anonymous", "service", "operator"):
            return self.kind
        return self.role if self.kind == "person" and self.role in ROLES else ""


ANONYMOUS = Actor("anonymous", kind="anonymous")


@dataclass(frozen=True)
class Resource:
    """What an action acts on, as far as permissions care: a client's case (its adviser
    and team), and who proposed or wrote the thing (for ``not_own`` rules)."""

    case_id: int | None = None
    adviser_id: int | None = None
    team_id: int | None = None
    author_id: int | None = None
    author: str | None = None


@dataclass(frozen=True)
class Rule:
    action: str
    what: str  # in words, for docs and refusals: "approve a client letter"
    grants: Mapping[str, Grant] = field(default_factory=dict)
    case: bool = False  # acts on one client's case: needs a Resource with its case
    not_own: bool = False  # never on something the caller proposed or wrote


def _rule(
    action: str,
    what: str,
    grants: dict[str, Grant],
    *,
    case: bool = False,
    not_own: bool = False,
) -> Rule:
    unknown = set(grants) - set(CALLERS)
    if unknown:
        raise ValueError(f"{action}: unknown callers {sorted(unknown)}")
    if not case and TEAM in grants.values():
        raise ValueError(f"{action}: TEAM only means something for an action on a case")
    return Rule(action, what, grants, case, not_own)


PEOPLE = {"adviser": ALL, "supervisor": ALL, "admin": ALL}
APPROVERS = {"supervisor": ALL, "admin": ALL}
CASEWORK = {"adviser": TEAM, "supervisor": ALL}
ADMIN = {"admin": ALL, "operator": ALL}

# The table. Advisers work on their own and their team's cases; supervisors on every case
# of the organisation, and they approve letters and limit changes; admins look after
# users, manuals, limits and settings, and see no client's case.
PERMISSIONS: dict[str, Rule] = {
    r.action: r
    for r in (
        # signing in and out, one's own tokens
        _rule("session.login", "sign in", {"anonymous": ALL, **PEOPLE}),
        _rule("session.logout", "sign out", PEOPLE),
        _rule("session.read", "see who is signed in", PEOPLE),
        _rule("tokens.own", "create, list and revoke their own API tokens", PEOPLE),
        # client cases
        _rule("cases.list", "list cases (an adviser: their own and their team's)",
              {"adviser": ALL, "supervisor": ALL}),
        _rule("cases.create", "open a new case", {"adviser": ALL, "supervisor": ALL}),
        _rule("cases.read", "read a client's case: documents, debts, budget, eligibility, "
              "notes and letters", CASEWORK, case=True),
        _rule("cases.update", "change a client's case: details, documents, debts, budget, "
              "notes and letter drafts", CASEWORK, case=True),
        _rule("cases.assign", "assign a case to an adviser or a team (an adviser: within "
              "their own team)", CASEWORK, case=True),
        _rule("cases.erase", "erase a client's case and everything derived from it (the "
              "operator: closed cases past retention)", {"supervisor": ALL, "operator": ALL},
              case=True),
        _rule("letters.submit", "send a letter draft for approval", CASEWORK, case=True),
        _rule("letters.approve", "approve or return a client letter", {"supervisor": ALL},
              case=True, not_own=True),
        _rule("letters.release", "download or send an approved client letter", CASEWORK,
              case=True),
        _rule("eligibility.check", "check eligibility on facts given (nothing stored)",
              {"adviser": ALL, "supervisor": ALL}),
        _rule("reference.read", "read reference lists (the budget's categories)", PEOPLE),
        # the manuals
        _rule("manuals.ask", "ask the manuals", PEOPLE),
        _rule("manuals.read", "list the manuals and open their pages", PEOPLE),
        _rule("manuals.upload", "upload a manual", ADMIN),
        _rule("manuals.delete", "delete a manual", ADMIN),
        # legal limits
        _rule("limits.read", "read the limits, their history and proposed changes", PEOPLE),
        _rule("limits.propose", "propose a change to a legal limit", PEOPLE),
        _rule("limits.approve", "approve a change to a legal limit", APPROVERS, not_own=True),
        _rule("limits.reject", "reject a change to a legal limit", APPROVERS, not_own=True),
        # administration
        _rule("users.list", "list users and teams", {**APPROVERS, "operator": ALL}),
        _rule("users.manage", "create users, change their roles and teams, disable them",
              ADMIN),
        _rule("settings.read", "read the organisation's settings", {**PEOPLE, "operator": ALL}),
        _rule("settings.update", "change the organisation's settings", ADMIN),
        _rule("audit.read", "read, verify and export the audit log", ADMIN),
        # the three services, called by the app and by each other
        _rule("service.call", "call the notes, documents and manuals services",
              {"service": ALL}),
    )
}  # fmt: skip


def rule(action: str) -> Rule:
    """The row for ``action``; Forbidden if the table has none (denied by default)."""
    found = PERMISSIONS.get(action)
    if found is None:
        raise Forbidden(f"no permission rule names {action!r}, so nobody may do it")
    return found


def authorise(actor: Actor, action: str, resource: Resource | None = None) -> None:
    """Allow ``actor`` to do ``action`` on ``resource``, or raise Unauthenticated (nobody
    signed in) or Forbidden (the table, the case's team or the own-proposal rule says no)."""
    found = rule(action)
    grant = found.grants.get(actor.caller)
    if grant is None:
        if actor.kind == "anonymous":
            raise Unauthenticated(f"sign in to {found.what}")
        who = actor.role or actor.kind
        raise Forbidden(f"{'an' if who[0] in 'aeiou' else 'a'} {who} may not {found.what}")
    if found.case and grant is TEAM:
        if resource is None or resource.case_id is None:  # a route that forgot to say which
            raise Forbidden(f"to {found.what}, name the case")
        if not in_team(actor, resource):
            raise Forbidden(f"case {resource.case_id} is not yours or your team's")
    if found.not_own and resource is not None and is_own(actor, resource):
        raise Forbidden(f"nobody may {found.what} that they proposed or wrote themselves")


def allowed(actor: Actor, action: str, resource: Resource | None = None) -> bool:
    """Whether :func:`authorise` would allow it (for showing or hiding a button)."""
    try:
        authorise(actor, action, resource)
    except (Forbidden, Unauthenticated):
        return False
    return True


def in_team(actor: Actor, resource: Resource) -> bool:
    """The case is the actor's own, or their team's."""
    if actor.id is not None and resource.adviser_id == actor.id:
        return True
    return actor.team_id is not None and resource.team_id == actor.team_id


def is_own(actor: Actor, resource: Resource) -> bool:
    if resource.author_id is not None and actor.id is not None:
        return resource.author_id == actor.id
    author = (resource.author or "").strip().casefold()
    return bool(author) and author == actor.name.strip().casefold()


def case_reach(actor: Actor) -> Grant | None:
    """Which cases ``actor`` may read, for listings: every case (ALL), their own and their
    team's (TEAM), or none."""
    return PERMISSIONS["cases.read"].grants.get(actor.caller)
