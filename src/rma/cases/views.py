"""A case's rows as JSON for the app and the command line. Sensitive columns appear only
when asked for; money appears both in pence (exact) and in words (£1,234.56)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rma import constants as C
from rma.cases.kinds import DEBT_KINDS
from rma.cases.models import (
    SENSITIVE,
    Asset,
    Case,
    CaseDocument,
    CaseNote,
    Circumstances,
    Client,
    Debt,
    DebtFigure,
    DocumentField,
    Letter,
    LetterVersion,
)
from rma.cases.schema import CircumstancesUpdate
from rma.text import format_pence


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def _money(pence: int | None) -> str | None:
    return None if pence is None else format_pence(pence)


def client_view(client: Client, *, sensitive: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": client.id,
        "name": client.name,
        "email": client.email,
        "phone": client.phone,
        "address": client.address,
        "date_of_birth": _iso(client.date_of_birth),
    }
    for column in Client.__table__.columns:
        if column.info == SENSITIVE:
            value = getattr(client, column.name)
            out[f"has_{column.name}"] = bool(value)
            if sensitive:
                out[column.name] = value
    return out


def circumstances_view(found: Circumstances | None) -> dict[str, Any]:
    values: dict[str, Any] = {name: None for name in CircumstancesUpdate.model_fields}
    if found is not None:
        for name in values:
            value = getattr(found, name)
            values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def case_view(case: Case, *, sensitive: bool = False) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "status": case.status,
        "opened_on": _iso(case.opened_on),
        "closed_on": _iso(case.closed_on),
        "adviser_id": case.adviser_id,
        "team_id": case.team_id,
        "created_by": case.created_by,
        "created_at": _iso(case.created_at),
        "client": client_view(case.client, sensitive=sensitive),
        "circumstances": circumstances_view(case.circumstances),
    }


def case_line(case: Case) -> dict[str, Any]:
    """A case in a list: no more than finding it needs."""
    return {
        "id": case.id,
        "reference": case.reference,
        "status": case.status,
        "client_name": case.client.name,
        "opened_on": _iso(case.opened_on),
        "closed_on": _iso(case.closed_on),
        "adviser_id": case.adviser_id,
        "team_id": case.team_id,
    }


def field_view(found: DocumentField) -> dict[str, Any]:
    return {
        "id": found.id,
        "name": found.name,
        "value": found.value,
        "page": found.page,
        "quote": found.quote,
        "confidence": round(found.confidence, 3),
        "verified": found.verified,
        "method": found.method,
        "note": found.note,
        "place": found.place,
    }


def document_view(document: CaseDocument, *, with_fields: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": document.id,
        "file_name": document.file_name,
        "media_type": document.media_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "status": document.status,
        "status_detail": document.status_detail,
        "doc_type": document.doc_type,
        "pages": document.pages,
        "indexed_passages": document.indexed_chunks,
        "warnings": document.warnings,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": _iso(document.uploaded_at),
        "processed_at": _iso(document.processed_at),
    }
    if with_fields:
        out["fields"] = [field_view(f) for f in document.fields]
    return out


def reading_view(document: CaseDocument, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """How a document's reading stands, page by page, in words: for the upload's progress
    on the case page. ``pages``: what the doc-processor has read (while it reads, the pages
    read so far; empty until it starts); only each page's method, confidence and whether it
    had text are shown, never its text."""
    status = document.status
    total = document.pages or max([len(pages), *(int(p.get("pages") or 0) for p in pages)])
    of = f" of {total}" if total else ""
    page_status = []
    for page in pages:
        confidence = page.get("confidence")
        shown = "" if confidence is None else f", {round(confidence * 100)} %"
        low = confidence is not None and confidence < C.LOW_PAGE_CONFIDENCE
        readable = bool(
            page["readable"] if "readable" in page else str(page.get("text") or "").strip()
        )
        where = f"page {page['number']}{of}"
        if not readable:
            message = f"{where}: no readable text"
        elif low:
            message = f"{where}: OCR low confidence{shown}: check it against the original"
        else:
            message = f"{where} read ({page.get('method') or 'read'}{shown})"
        page_status.append({"number": page["number"], "method": page.get("method"),
                            "confidence": confidence, "low_confidence": low,
                            "readable": readable, "message": message})  # fmt: skip
    many = f"{total} page{'s' if total != 1 else ''}" if total else "its pages"
    message = {
        "received": f"waiting to be read ({many})",
        "processing": f"reading {many}" + (f": {len(pages)} read so far" if pages else ""),
        "processed": f"read: {len(pages)}{of} page{'s' if total != 1 else ''}",
        "failed": f"could not be read: {document.status_detail or 'no reason given'}",
    }[status]
    return {
        "id": document.id,
        "status": status,
        "done": status in ("processed", "failed"),
        "message": message,
        "pages": total,
        "pages_read": len(pages),
        "page_status": page_status,
        "warnings": document.warnings if status == "processed" else [],
    }


def figure_view(found: DebtFigure) -> dict[str, Any]:
    out: dict[str, Any] = {
        "figure": found.figure,
        "source": found.source,
        "recorded_by": found.recorded_by,
        "recorded_at": _iso(found.recorded_at),
    }
    if found.source == "document":
        field = found.field
        out["document_field"] = (
            None
            if field is None
            else {"id": field.id, "document_id": field.document_id, "page": field.page,
                  "quote": field.quote, "confidence": round(field.confidence, 3),
                  "verified": field.verified}
        )  # fmt: skip
        if field is None and found.field_id is None:
            out["note"] = "the document it came from has been deleted"
    return out


def debt_view(debt: Debt) -> dict[str, Any]:
    current: dict[str, DebtFigure] = {}
    for figure in debt.figures:
        current[figure.figure] = figure  # the newest per figure
    return {
        "id": debt.id,
        "status": debt.status,
        "source": debt.source,
        "updates_debt_id": debt.updates_debt_id,
        "document_id": debt.document_id,
        "creditor": debt.creditor,
        "kind": debt.kind,
        "kind_name": DEBT_KINDS.get(debt.kind or ""),
        "balance_pence": debt.balance_pence,
        "balance": _money(debt.balance_pence),
        "arrears_pence": debt.arrears_pence,
        "arrears": _money(debt.arrears_pence),
        "reference": debt.reference,
        "goods_essential": debt.goods_essential,
        "from_fraud": debt.from_fraud,
        "priority": debt.priority,
        "priority_rule": debt.priority_rule,
        "sources": {name: figure_view(f) for name, f in current.items()},
        "created_by": debt.created_by,
        "created_at": _iso(debt.created_at),
        "decided_by": debt.decided_by,
        "decided_at": _iso(debt.decided_at),
        "decision_note": debt.decision_note,
    }


def debts_view(debts: list[Debt]) -> dict[str, Any]:
    """The debts list: confirmed debts (priority first) with totals, then what waits."""
    confirmed = [d for d in debts if d.status == "confirmed" and d.updates_debt_id is None]
    total = sum(d.balance_pence or 0 for d in confirmed)
    priority = sum(d.balance_pence or 0 for d in confirmed if d.priority == "priority")
    return {
        "debts": [debt_view(d) for d in confirmed],
        "proposed": [debt_view(d) for d in debts if d.status == "proposed"],
        "decided_proposals": [
            debt_view(d) for d in debts if d.status == "rejected" or (d.updates_debt_id is not None
            and d.status == "confirmed")
        ],
        "totals": {
            "balance_pence": total,
            "balance": format_pence(total),
            "priority_pence": priority,
            "priority": format_pence(priority),
            "arrears_pence": sum(d.arrears_pence or 0 for d in confirmed),
            "unknown_amounts": sum(1 for d in confirmed if d.balance_pence is None),
        },
    }  # fmt: skip


def asset_view(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "kind": asset.kind,
        "description": asset.description,
        "value_pence": asset.value_pence,
        "value": format_pence(asset.value_pence),
        "created_by": asset.created_by,
        "created_at": _iso(asset.created_at),
    }


def note_view(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "body": note.body,
        "created_by": note.created_by,
        "created_at": _iso(note.created_at),
    }


def letter_view(letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "kind": letter.kind,
        "status": letter.status,
        "note_id": letter.note_id,
        "body": letter.body,
        "details": letter.details,
        "created_by": letter.created_by,
        "created_at": _iso(letter.created_at),
        "edited_by": letter.edited_by,
        "edited_at": _iso(letter.edited_at),
    }


def letter_version_view(version: LetterVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "body": version.body,
        "written_by": version.written_by,
        "written_at": _iso(version.written_at),
        "warnings": version.warnings,
    }
