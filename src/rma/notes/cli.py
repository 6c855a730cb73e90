"""``rma notes FILE``: print the Confirmation of Advice letter for a file of case notes."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import datetime
from pathlib import Path

import click
from pydantic import ValidationError

from rma.config import load_settings
from rma.errors import RMAError
from rma.notes.schema import ConvertRequest

_CLIENT_LINE = re.compile(r"^\s*(?:client|cl)(?:\s+name)?\s*:\s*(?P<name>.+?)\s*$", re.I | re.M)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def read_notes_file(path: Path) -> str:
    """The file as text; UTF-8 only (a byte-order mark is allowed)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"{path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8"
        ) from None


@click.command("notes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--client", "client_name", help="Client's name (default: a 'Client:' line).")
@click.option("--adviser", "adviser_name", default=None, help="Adviser's name for the sign-off.")
@click.option("--organisation", default=None, help="Organisation name for the letterhead.")
@click.option(
    "--date",
    "appointment",
    type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]),
    default=None,
    help="Appointment date (default: a 'Date:' line in the notes, else today).",
)
@click.option(
    "--tone",
    type=click.Choice(["warm", "formal"]),
    default="warm",
    show_default=True,
    help="How the letter speaks to the client.",
)
@click.option(
    "--docx",
    "docx_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the letter as a Word document here.",
)
def notes_cmd(
    file: Path,
    client_name: str | None,
    adviser_name: str | None,
    organisation: str | None,
    appointment: datetime | None,
    tone: str,
    docx_path: Path | None,
) -> None:
    """Print the client letter for the case notes in FILE; warnings go to stderr."""
    from rma.llm.factory import build_router
    from rma.notes.convert import convert
    from rma.notes.docx import letter_docx

    notes = read_notes_file(file)
    if client_name is None:
        found = _CLIENT_LINE.search("\n".join(notes.splitlines()[:5]))
        if found is None:
            raise click.UsageError(
                "give the client's name with --client (the notes have no 'Client:' line)"
            )
        client_name = found.group("name")
    try:
        request = ConvertRequest(
            notes=notes,
            client_name=client_name,
            adviser_name=adviser_name,
            organisation=organisation,
            tone=tone,  # type: ignore[arg-type]
            appointment_date=appointment.date() if appointment else None,
        )
    except ValidationError as exc:
        _fail("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()), 2)

    async def run() -> None:
        settings = load_settings()
        router = build_router(settings)
        try:
            conversion = await convert(router, request, settings)
        finally:
            await router.aclose()
        click.echo(conversion.letter.text, nl=False)
        for warning in conversion.warnings:
            click.echo(f"warning [{warning.code}]: {warning.message}", err=True)
        click.echo(
            f"-- reading age {conversion.reading_age:g} (target {conversion.target:g})", err=True
        )
        if docx_path is not None:
            body = letter_docx(conversion.letter, conversion.warnings)
            await asyncio.to_thread(docx_path.write_bytes, body)
            click.echo(f"-- Word copy written to {docx_path}", err=True)

    try:
        asyncio.run(run())
    except RMAError as exc:
        _fail(str(exc))


commands: list[click.Command] = [notes_cmd]
