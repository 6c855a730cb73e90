"""``rma users``, ``rma tokens`` and ``rma organisation`` against a real database: the
first admin made without default credentials or a password on the command line, and
every change audited as the operator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rma.cli import main
from tests.support.accounts import PASSWORD, command_line_on


@pytest.fixture
def rma(database_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    command_line_on(database_url, monkeypatch)
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=stdin)

    return run


def test_the_first_admin_and_the_users_commands(rma) -> None:  # type: ignore[no-untyped-def]
    empty = rma("users", "list")
    assert empty.exit_code == 0 and "no users yet: rma users create --role admin" in empty.output
    made = rma(
        "users", "create", "--email", "Ada@Advice.example", "--name", "Ada", "--role", "admin",
        "--password-stdin", stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "ada@advice.example" in made.output and PASSWORD not in made.output
    adviser = rma(
        "users", "create", "--email", "ann@advice.example", "--role", "adviser", "--team",
        "North", "--password-stdin", stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert adviser.exit_code == 0 and "North" in adviser.output
    listed = json.loads(rma("users", "list", "--json").output)
    assert [(u["email"], u["role"], u["team"]) for u in listed] == [
        ("ada@advice.example", "admin", None),
        ("ann@advice.example", "adviser", "North"),
    ]
    assert rma("users", "set-role", "ann@advice.example", "supervisor").exit_code == 0
    assert "disabled" in rma("users", "disable", "ann@advice.example").output
    assert "enabled" in rma("users", "enable", "ann@advice.example").output
    reset = rma("users", "reset-password", "ann@advice.example", "--password-stdin",
                stdin="another long password\n")  # fmt: skip
    assert reset.exit_code == 0
    last_admin = rma("users", "disable", "ada@advice.example")
    assert last_admin.exit_code == 1 and "only enabled admin" in last_admin.output
    weak = rma("users", "create", "--email", "x@advice.example", "--role", "adviser",
               "--password-stdin", stdin="short\n")  # fmt: skip
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    unknown = rma("users", "disable", "nobody@advice.example")
    assert unknown.exit_code == 1 and "there is no user" in unknown.output


def test_a_password_is_never_an_option(rma) -> None:  # type: ignore[no-untyped-def]
    given = rma("users", "create", "--email", "a@advice.example", "--role", "admin",
                "--password", PASSWORD)  # fmt: skip
    assert given.exit_code == 2 and "No such option '--password'" in given.output
    # Without a terminal and without --password-stdin, it asks for the flag.
    asked = rma("users", "create", "--email", "a@advice.example", "--role", "admin")
    assert asked.exit_code != 0 and "--password-stdin" in asked.output


def test_tokens_are_printed_once_and_listed_without_their_secret(rma) -> None:  # type: ignore[no-untyped-def]
    rma("users", "create", "--email", "sam@advice.example", "--role", "supervisor",
        "--password-stdin", stdin=f"{PASSWORD}\n")  # fmt: skip
    personal = rma("tokens", "create", "--user", "sam@advice.example", "--name", "report",
                   "--days", "30")  # fmt: skip
    assert personal.exit_code == 0, personal.output
    secret = personal.stdout.strip().splitlines()[-1]
    assert secret.startswith("rmat_") and "shown once" in personal.stderr
    service = rma("tokens", "create", "--service", "adviser-app", "--name", "the app")
    assert "created service account adviser-app" in service.stderr
    service_secret = service.stdout.strip().splitlines()[-1]
    assert service_secret.startswith("rmas_") and "no expiry" in service.stderr
    listed = json.loads(rma("tokens", "list", "--json").output)
    assert [(t["kind"], t["owner"], t["state"]) for t in listed] == [
        ("personal", "sam@advice.example", "active"),
        ("service", "adviser-app", "active"),
    ]
    assert secret not in str(listed) and service_secret not in str(listed)
    revoked = rma("tokens", "revoke", str(listed[1]["id"]))
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert json.loads(rma("tokens", "list", "--json").output)[1]["state"] == "revoked"
    both = rma("tokens", "create", "--user", "sam@advice.example", "--service", "x", "--name", "n")
    assert both.exit_code == 2


def test_organisation_settings_and_the_operator_in_the_audit_log(rma) -> None:  # type: ignore[no-untyped-def]
    shown = rma("organisation", "show")
    assert "letters_need_approval = true (default)" in shown.output
    changed = rma("organisation", "set", "letters_need_approval", "false")
    assert changed.exit_code == 0 and "letters_need_approval = false" in changed.output
    assert "(set by operator:" in rma("organisation", "show").output
    unknown = rma("organisation", "set", "colour", "true")
    assert unknown.exit_code == 1 and "unknown setting 'colour'" in unknown.output
    exported = [json.loads(line) for line in rma("audit", "export").stdout.splitlines()]
    assert [e["action"] for e in exported] == ["settings.update"]
    assert exported[0]["actor"].startswith("operator:") and exported[0]["actor_kind"] == "operator"
