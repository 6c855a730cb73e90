"""What the three services (notes, documents, manuals) accept: service credentials only.

People sign in at the adviser app, which calls the services with its own service token
(``RMA_SERVICE_TOKEN``); the services never see a person's session or token, and refuse
one if it is sent (403, saying where people sign in). A service credential is either:

- a service token (``rmas_...``) made by ``rma tokens create --service NAME``, checked
  against the database on each call (revoking it takes effect on the next call); or
- a key listed in ``RMA_API_KEYS``: the earlier shared keys keep working, each acting as
  a service account named ``api-key-N`` (N its place in the list). They cannot be
  revoked one by one or given an expiry; replace them with service tokens.

``RMA_SERVICE_AUTH=off`` turns the check off, for development on one machine only:
``rma serve`` refuses it on any address but loopback. ``/health``, ``/ready`` and
``/metrics`` are always open (probes carry no credential).
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers

from rma import constants as C
from rma.accounts.permissions import Actor, authorise
from rma.accounts.tokens import Tokens, kind_of
from rma.config import Settings
from rma.db.engine import Database
from rma.errors import Forbidden, Unauthenticated

PEOPLE_GO_TO_THE_APP = "the services accept service tokens only; people sign in at the adviser app"
DEVELOPMENT = Actor("development", kind="service", via="auth-off")


def presented_credential(headers: Headers) -> str:
    """The credential a request carries: ``X-API-Key``, or ``Authorization: Bearer``."""
    supplied = headers.get(C.API_KEY_HEADER, "").strip()
    auth = headers.get("Authorization", "")
    if not supplied and auth[:7].lower() == "bearer ":
        supplied = auth[7:].strip()
    return supplied


class ServiceGate:
    """Admit a request to a service, or say why not."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.open = settings.rma_service_auth == "off"
        self.keys = [k.get_secret_value().encode() for k in settings.rma_api_keys]
        self._database: Database | None = None

    @property
    def tokens(self) -> Tokens:
        if self._database is None:  # the database is opened on the first service token
            self._database = Database.from_settings(self.settings)
        return Tokens(self._database)

    async def admit(self, headers: Headers) -> Actor:
        """The calling service account; Unauthenticated or Forbidden otherwise."""
        if self.open:
            return DEVELOPMENT
        presented = presented_credential(headers)
        if not presented:
            raise Unauthenticated(
                "a service token is required (Authorization: Bearer rmas_...); "
                + PEOPLE_GO_TO_THE_APP
            )
        given = presented.encode()
        found = None
        for number, key in enumerate(self.keys, 1):  # every key compared: no hint of which
            if hmac.compare_digest(given, key) and found is None:
                found = number
        if found is not None:
            return Actor(f"api-key-{found}", "service", None, None, "service", "api-key")
        kind = kind_of(presented)
        if kind == "personal":
            raise Forbidden(PEOPLE_GO_TO_THE_APP)
        if kind is None:
            raise Unauthenticated("the service credential is not valid")
        actor = await self.tokens.actor_for(presented, want="service")
        authorise(actor, "service.call")
        return actor

    async def aclose(self) -> None:
        if self._database is not None:
            await self._database.aclose()
            self._database = None
