"""The permission table against an answer key written from the product's brief (not from
the table), and authorise's rules: cases by team, never one's own approval, deny by
default."""

from __future__ import annotations

import pytest

from rma.accounts.permissions import (
    ALL,
    ANONYMOUS,
    CALLERS,
    PERMISSIONS,
    TEAM,
    Actor,
    Resource,
    allowed,
    authorise,
    case_reach,
)
from rma.errors import Forbidden, Unauthenticated

ANN = Actor("ann@x", "adviser", id=1, team_id=10)
BO = Actor("bo@x", "adviser", id=2, team_id=10)
CY = Actor("cy@x", "adviser", id=3, team_id=20)
SAM = Actor("sam@x", "supervisor", id=4)
KIM = Actor("kim@x", "admin", id=5)
APP = Actor("app", "service", kind="service", via="service-token")
OPERATOR = Actor("operator:root", kind="operator", via="cli")

# The answer key, from the brief: adviser (their own and their team's cases), supervisor
# (all cases of the organisation; approves letters and limit changes), admin (users,
# manuals, limits, settings); manual upload and deletion admin-only; the services accept
# service tokens only. "team" means: only on their own and their team's cases.
KEY: dict[str, dict[str, str]] = {
    "cases.read": {"adviser": "team", "supervisor": "all"},
    "cases.update": {"adviser": "team", "supervisor": "all"},
    "letters.approve": {"supervisor": "all"},
    "manuals.upload": {"admin": "all", "operator": "all"},
    "manuals.delete": {"admin": "all", "operator": "all"},
    "manuals.ask": {"adviser": "all", "supervisor": "all", "admin": "all"},
    "limits.approve": {"supervisor": "all", "admin": "all"},
    "limits.reject": {"supervisor": "all", "admin": "all"},
    "users.manage": {"admin": "all", "operator": "all"},
    "settings.update": {"admin": "all", "operator": "all"},
    "audit.read": {"admin": "all", "operator": "all"},
    "session.login": {"anonymous": "all", "adviser": "all", "supervisor": "all", "admin": "all"},
    "service.call": {"service": "all"},
}


@pytest.mark.parametrize("action", sorted(KEY))
def test_the_table_says_what_the_brief_says(action: str) -> None:
    grants = {caller: str(grant) for caller, grant in PERMISSIONS[action].grants.items()}
    assert grants == KEY[action]


def test_only_services_call_the_services_and_services_do_nothing_else() -> None:
    for action, rule in PERMISSIONS.items():
        assert ("service" in rule.grants) == (action == "service.call"), action


def test_anonymous_may_only_sign_in() -> None:
    assert [a for a, r in PERMISSIONS.items() if "anonymous" in r.grants] == ["session.login"]


def test_admins_see_no_client_case() -> None:
    for action, rule in PERMISSIONS.items():
        if rule.case:
            assert "admin" not in rule.grants, action


def test_every_rule_names_known_callers_and_says_what_it_is() -> None:
    for action, rule in PERMISSIONS.items():
        assert set(rule.grants) <= set(CALLERS) and rule.what, action
        assert all(g in (ALL, TEAM) for g in rule.grants.values())


def test_an_adviser_reaches_their_own_and_their_teams_cases_only() -> None:
    own = Resource(case_id=1, adviser_id=ANN.id, team_id=10)
    teammates = Resource(case_id=2, adviser_id=BO.id, team_id=10)
    other_team = Resource(case_id=3, adviser_id=CY.id, team_id=20)
    unassigned = Resource(case_id=4, adviser_id=None, team_id=None)
    for case in (own, teammates):
        authorise(ANN, "cases.read", case)
        authorise(ANN, "cases.update", case)
    for case in (other_team, unassigned):
        with pytest.raises(Forbidden, match=f"case {case.case_id} is not yours"):
            authorise(ANN, "cases.read", case)
    # Without a team an adviser still reaches the cases they advise on.
    loner = Actor("lo@x", "adviser", id=9, team_id=None)
    authorise(loner, "cases.read", Resource(case_id=5, adviser_id=9))
    with pytest.raises(Forbidden):
        authorise(loner, "cases.read", unassigned)
    for case in (own, other_team, unassigned):
        authorise(SAM, "cases.read", case)
        with pytest.raises(Forbidden, match="an admin may not read a client's case"):
            authorise(KIM, "cases.read", case)


def test_a_case_action_without_its_case_is_refused_for_a_team_grant() -> None:
    with pytest.raises(Forbidden, match="name the case"):
        authorise(ANN, "cases.read")
    authorise(SAM, "cases.read")  # a supervisor reaches every case anyway


def test_nobody_approves_what_they_wrote() -> None:
    letter = Resource(case_id=1, adviser_id=ANN.id, team_id=10, author="sam@x")
    with pytest.raises(Forbidden, match="wrote themselves"):
        authorise(SAM, "letters.approve", letter)
    other = Actor("sue@x", "supervisor", id=6)
    authorise(other, "letters.approve", letter)
    proposal = Resource(author_id=KIM.id, author="Kim under another name")
    with pytest.raises(Forbidden, match="proposed or wrote"):
        authorise(KIM, "limits.approve", proposal)
    authorise(SAM, "limits.approve", proposal)


def test_unknown_actions_and_callers_are_denied() -> None:
    with pytest.raises(Forbidden, match=r"no permission rule names 'cases\.sell'"):
        authorise(SAM, "cases.sell")
    nobody_role = Actor("who@x", role=None, id=7)
    for action in PERMISSIONS:
        assert not allowed(nobody_role, action)
    with pytest.raises(Unauthenticated, match="sign in to read a client's case"):
        authorise(ANONYMOUS, "cases.read", Resource(case_id=1))
    with pytest.raises(Forbidden, match="a service may not"):
        authorise(APP, "manuals.ask")


def test_case_reach_for_listings() -> None:
    assert case_reach(ANN) is TEAM and case_reach(SAM) is ALL
    assert case_reach(KIM) is None and case_reach(APP) is None and case_reach(OPERATOR) is None
