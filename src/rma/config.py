"""One settings object, read from the environment and an optional TOML file.

Names are the deployment's variable names (``LLM_PROVIDER``, ``VLLM_URL`` ...), so the
Compose file, Kubernetes manifests and this class agree letter for letter. Precedence:
environment, then the file named by ``RMA_CONFIG``, then the defaults in
:mod:`rma.constants`. An unknown provider name stops start-up with a message that
names the variable; it is never replaced by a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rma import constants as C
from rma.errors import ConfigError


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/rma`` on Linux): where data lives
    unless ``RMA_DATA_DIR`` says otherwise, whichever folder a command is run from."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(C.DATA_DIR_APP, appauthor=False))


ChatProvider = Literal["vllm", "ollama", "local"]
OcrProvider = Literal["vllm", "ollama", "tesseract"]
# Lists come from comma-separated variables, not JSON.
CommaList = Annotated[list[str], NoDecode]
# "scheme://user:password@" in a database URL: the password is masked when printed.
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", populate_by_name=True, validate_default=True
    )

    # Which backend serves each role, and what to fall back to.
    llm_provider: ChatProvider = Field("local", alias="LLM_PROVIDER")
    fallback_provider: Annotated[list[ChatProvider], NoDecode] = Field(
        default_factory=list, alias="FALLBACK_PROVIDER"
    )
    embed_provider: ChatProvider = Field("local", alias="EMBED_PROVIDER")
    ocr_provider: OcrProvider = Field("tesseract", alias="OCR_PROVIDER")

    # vLLM (OpenAI-compatible). Several replicas: comma-separated.
    vllm_url: CommaList = Field(default_factory=lambda: [C.DEFAULT_VLLM_URL], alias="VLLM_URL")
    vllm_api_key: SecretStr = Field(SecretStr(""), alias="VLLM_API_KEY")
    vllm_model: str = Field(C.DEFAULT_VLLM_MODEL, alias="VLLM_MODEL")
    vllm_embed_url: CommaList = Field(default_factory=list, alias="VLLM_EMBED_URL")
    vllm_embed_model: str = Field(C.DEFAULT_VLLM_EMBED_MODEL, alias="VLLM_EMBED_MODEL")
    vllm_vision_model: str = Field("", alias="VLLM_VISION_MODEL")
    vllm_max_in_flight: int = Field(C.VLLM_MAX_IN_FLIGHT, alias="VLLM_MAX_IN_FLIGHT", ge=1)
    vllm_context_tokens: int = Field(
        C.DEFAULT_VLLM_CONTEXT_TOKENS, alias="VLLM_CONTEXT_TOKENS", ge=256
    )

    # Ollama (native API).
    ollama_url: str = Field(C.DEFAULT_OLLAMA_URL, alias="OLLAMA_URL")
    ollama_model: str = Field(C.DEFAULT_OLLAMA_MODEL, alias="OLLAMA_MODEL")
    ollama_embed_model: str = Field(C.DEFAULT_OLLAMA_EMBED_MODEL, alias="OLLAMA_EMBED_MODEL")
    ollama_vision_model: str = Field(C.DEFAULT_OLLAMA_VISION_MODEL, alias="OLLAMA_VISION_MODEL")
    ollama_num_ctx: int = Field(C.DEFAULT_OLLAMA_NUM_CTX, alias="OLLAMA_NUM_CTX", ge=256)
    ollama_keep_alive: str = Field(C.DEFAULT_OLLAMA_KEEP_ALIVE, alias="OLLAMA_KEEP_ALIVE")
    ollama_max_in_flight: int = Field(C.OLLAMA_MAX_IN_FLIGHT, alias="OLLAMA_MAX_IN_FLIGHT", ge=1)

    # Router behaviour.
    connect_timeout: float = Field(C.CONNECT_TIMEOUT, alias="LLM_CONNECT_TIMEOUT", gt=0)
    first_token_timeout: float = Field(C.FIRST_TOKEN_TIMEOUT, alias="LLM_FIRST_TOKEN_TIMEOUT", gt=0)
    total_timeout: float = Field(C.TOTAL_TIMEOUT, alias="LLM_TOTAL_TIMEOUT", gt=0)
    retry_attempts: int = Field(C.RETRY_ATTEMPTS, alias="LLM_RETRY_ATTEMPTS", ge=1, le=10)
    breaker_threshold: int = Field(C.BREAKER_FAILURE_THRESHOLD, alias="LLM_BREAKER_THRESHOLD", ge=1)
    breaker_reset_after: float = Field(C.BREAKER_RESET_AFTER, alias="LLM_BREAKER_RESET_AFTER", gt=0)
    queue_limit: int = Field(C.DEFAULT_QUEUE_LIMIT, alias="LLM_QUEUE_LIMIT", ge=0)
    queue_wait_timeout: float = Field(C.QUEUE_WAIT_TIMEOUT, alias="LLM_QUEUE_WAIT_TIMEOUT", gt=0)

    # Migration between chat backends (rma.llm.migration): shadow copies and canary traffic.
    shadow_provider: ChatProvider | None = Field(None, alias="SHADOW_PROVIDER")
    shadow_percent: float = Field(0.0, alias="SHADOW_PERCENT", ge=0, le=100)
    shadow_max_pending: int = Field(C.SHADOW_MAX_PENDING, alias="SHADOW_MAX_PENDING", ge=1)
    canary_provider: ChatProvider | None = Field(None, alias="CANARY_PROVIDER")
    canary_percent: float = Field(0.0, alias="CANARY_PERCENT", ge=0, le=100)

    # Storage.
    chromadb_host: str = Field("", alias="CHROMADB_HOST")
    chromadb_port: int = Field(8000, alias="CHROMADB_PORT")
    # Sent as X-Chroma-Token to the Chroma server (its token-checking proxy, see
    # docs/security.md); empty sends none.
    chromadb_token: SecretStr = Field(SecretStr(""), alias="CHROMADB_TOKEN")
    rma_data_dir: Path = Field(default_factory=default_data_dir, alias="RMA_DATA_DIR")
    # The product's database (rma.db): empty means SQLite in RMA_DATA_DIR. A password kept
    # apart from the URL (a Kubernetes or Compose secret) is put into it by rma.db.
    rma_database_url: str = Field("", alias="RMA_DATABASE_URL")
    rma_database_password: SecretStr = Field(SecretStr(""), alias="RMA_DATABASE_PASSWORD")
    # Bring the schema to the newest migration when a service or command starts (under a
    # lock, so replicas do not race); off where a deployment runs `rma db upgrade` itself.
    rma_database_auto_upgrade: bool = Field(True, alias="RMA_DATABASE_AUTO_UPGRADE")

    # Services.
    rma_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, alias="RMA_API_KEYS"
    )
    # With RMA_SERVICE_AUTH=off a service listens on loopback only, unless the network is
    # declared trusted (only people allowed to use RMA can reach it).
    rma_trusted_network: bool = Field(False, alias="RMA_TRUSTED_NETWORK")
    rma_rate_limit: str = Field(C.DEFAULT_RATE_LIMIT, alias="RMA_RATE_LIMIT")
    rma_cors_origins: CommaList = Field(default_factory=list, alias="RMA_CORS_ORIGINS")
    rma_log_level: str = Field("INFO", alias="RMA_LOG_LEVEL")
    # What the three services accept: "tokens" (service tokens from `rma tokens create
    # --service`, or a key in RMA_API_KEYS) or "off" (nothing asked; development only,
    # refused by `rma serve` on any address but loopback unless RMA_TRUSTED_NETWORK=1).
    rma_service_auth: Literal["tokens", "off"] = Field("tokens", alias="RMA_SERVICE_AUTH")

    # Accounts and sessions (rma.accounts).
    rma_session_cookie_secure: bool = Field(True, alias="RMA_SESSION_COOKIE_SECURE")
    rma_session_idle_minutes: int = Field(
        C.SESSION_IDLE_MINUTES, alias="RMA_SESSION_IDLE_MINUTES", ge=1
    )
    rma_session_absolute_hours: int = Field(
        C.SESSION_ABSOLUTE_HOURS, alias="RMA_SESSION_ABSOLUTE_HOURS", ge=1
    )
    rma_login_max_failures: int = Field(C.LOGIN_MAX_FAILURES, alias="RMA_LOGIN_MAX_FAILURES", ge=1)
    rma_login_lockout_minutes: int = Field(
        C.LOGIN_LOCKOUT_MINUTES, alias="RMA_LOGIN_LOCKOUT_MINUTES", ge=1
    )
    rma_argon2_time_cost: int = Field(C.ARGON2_TIME_COST, alias="RMA_ARGON2_TIME_COST", ge=1)
    rma_argon2_memory_kib: int = Field(
        C.ARGON2_MEMORY_KIB, alias="RMA_ARGON2_MEMORY_KIB", ge=8 * 1024
    )
    rma_argon2_parallelism: int = Field(
        C.ARGON2_PARALLELISM, alias="RMA_ARGON2_PARALLELISM", ge=1, le=64
    )
    rma_token_days: int = Field(C.TOKEN_DAYS, alias="RMA_TOKEN_DAYS", ge=1, le=C.TOKEN_MAX_DAYS)
    rma_audit_retention_days: int = Field(
        C.AUDIT_RETENTION_DAYS, alias="RMA_AUDIT_RETENTION_DAYS", ge=1
    )

    # Untrusted documents: worker processes, their memory, each document's time budget.
    rma_document_workers: int = Field(C.DOCUMENT_WORKERS, alias="RMA_DOCUMENT_WORKERS", ge=1)
    rma_document_memory_mb: int = Field(
        C.DOCUMENT_WORKER_MEMORY_MB, alias="RMA_DOCUMENT_MEMORY_MB", ge=256
    )
    rma_document_seconds: float = Field(C.DOCUMENT_SECONDS, alias="RMA_DOCUMENT_SECONDS", gt=0)

    # Notes service.
    notes_reading_age_target: float = Field(
        C.NOTES_READING_AGE_TARGET, alias="NOTES_READING_AGE_TARGET", ge=5, le=25
    )
    notes_retain_seconds: int = Field(C.NOTES_RETAIN_SECONDS, alias="NOTES_RETAIN_SECONDS", ge=0)
    notes_extract_max_tokens: int = Field(
        C.NOTES_EXTRACT_MAX_TOKENS,
        alias="NOTES_EXTRACT_MAX_TOKENS",
        ge=32,
        le=C.NOTES_EXTRACT_MAX_TOKENS,
    )

    # The adviser app (rma serve app): the services it calls over HTTP, the key it sends
    # them (a service token from `rma tokens create --service`, or one of their
    # RMA_API_KEYS), and the keys client files are encrypted with
    # ("ID:KEY" pairs, the first encrypts; see docs/cases.md).
    rma_notes_url: str = Field(f"http://127.0.0.1:{C.NOTES_PORT}", alias="RMA_NOTES_URL")
    rma_docs_url: str = Field(f"http://127.0.0.1:{C.DOCS_PORT}", alias="RMA_DOCS_URL")
    rma_rag_url: str = Field(f"http://127.0.0.1:{C.RAG_PORT}", alias="RMA_RAG_URL")
    rma_service_key: SecretStr = Field(SecretStr(""), alias="RMA_SERVICE_KEY")
    rma_service_timeout: float = Field(C.SERVICE_TIMEOUT, alias="RMA_SERVICE_TIMEOUT", gt=0)
    rma_encryption_key: SecretStr = Field(SecretStr(""), alias="RMA_ENCRYPTION_KEY")
    case_upload_max_bytes: int = Field(
        C.CASE_UPLOAD_MAX_BYTES, alias="CASE_UPLOAD_MAX_BYTES", ge=1024
    )

    # Ask the Manuals (RAG) service.
    manuals_path: Path = Field(Path("manuals"), alias="MANUALS_PATH")

    @field_validator(
        "fallback_provider", "vllm_url", "vllm_embed_url", "rma_cors_origins", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("shadow_provider", "canary_provider", mode="before")
    @classmethod
    def _optional_provider(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rma_api_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("rma_api_keys")
    @classmethod
    def _long_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        short = sum(1 for k in keys if len(k.get_secret_value()) < C.MIN_API_KEY_CHARS)
        if short:
            # Neither the key nor its position: a log of this error must not help guess it.
            raise ValueError(
                f"each key must be at least {C.MIN_API_KEY_CHARS} characters ({short} of "
                f"{len(keys)} are shorter); use long random values (`openssl rand -hex 24`)"
            )
        return keys

    @field_validator("rma_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        value = value.strip()
        if value:
            try:
                parse_many(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a rate such as 120/minute or 20/second;600/minute"
                ) from None
        return value

    @field_validator("vllm_url", "vllm_embed_url")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_http_url(url) for url in urls]

    @field_validator("rma_notes_url", "rma_docs_url", "rma_rag_url")
    @classmethod
    def _service_url(cls, url: str) -> str:
        return _http_url(url)

    @field_validator("rma_cors_origins")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError("a wildcard origin would let any web page call the services")
        return origins

    @model_validator(mode="after")
    def _chain(self) -> Settings:
        if not self.vllm_url:
            raise ValueError("VLLM_URL is empty")
        if len(set(self.fallback_provider)) != len(self.fallback_provider):
            raise ValueError(f"FALLBACK_PROVIDER names a backend twice: {self.fallback_provider}")
        for variable, candidate in (
            ("SHADOW_PROVIDER", self.shadow_provider),
            ("CANARY_PROVIDER", self.canary_provider),
        ):
            if candidate is not None and candidate == self.llm_provider:
                raise ValueError(f"{variable} names the primary LLM_PROVIDER {candidate!r}")
        return self

    @property
    def chat_chain(self) -> list[str]:
        """Providers tried in order for chat: the primary, then each fallback. A fallback
        equal to the primary is left out, so that rolling back (``LLM_PROVIDER=ollama``
        where ``FALLBACK_PROVIDER=ollama``) is one variable."""
        return [self.llm_provider, *(f for f in self.fallback_provider if f != self.llm_provider)]

    @property
    def embed_urls(self) -> list[str]:
        return self.vllm_embed_url or self.vllm_url

    def check_exposure(self, host: str, service: str = "") -> None:
        """Refuse to serve with the service gate off (``RMA_SERVICE_AUTH=off``) on an
        address beyond this machine, unless ``RMA_TRUSTED_NETWORK`` says only people
        allowed to use RMA can reach it. With the gate on, every call needs a service
        credential (a service token or a key in ``RMA_API_KEYS``) wherever it listens."""
        if self.rma_service_auth != "off" or self.rma_trusted_network or is_loopback(host):
            return
        what = f"the {service} service" if service else "the services"
        raise ConfigError(
            f"RMA_SERVICE_AUTH=off lets anyone call {what}: refusing to listen on {host} "
            "without service credentials. Leave RMA_SERVICE_AUTH=tokens (service tokens from "
            f"`rma tokens create --service`, or RMA_API_KEYS of at least {C.MIN_API_KEY_CHARS} "
            "characters), listen on 127.0.0.1, or set RMA_TRUSTED_NETWORK=1 if only people "
            "allowed to use RMA can reach this address"
        )

    def masked(self) -> dict[str, Any]:
        """The effective settings under their variable names, secrets masked."""
        out: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "****" if value.get_secret_value() else ""
            elif isinstance(value, list):
                value = ["****" if isinstance(v, SecretStr) else v for v in value]
                value = ",".join(str(v) for v in value)
            elif isinstance(value, Path):
                value = str(value)
            elif name == "rma_database_url":
                value = _URL_PASSWORD.sub(r"\1****@", value)
            out[field.alias or name.upper()] = value
        return out

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        # A folder of files named after the variables (a Kubernetes or Docker secret
        # mounted as files; the local stack's generated keys): below the environment.
        secrets_dir = os.environ.get("RMA_SECRETS_DIR")
        if secrets_dir:
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        config_file = os.environ.get("RMA_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to listen on) is this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def load_settings(**overrides: Any) -> Settings:
    """Read settings; turn validation errors into one readable :class:`ConfigError`."""
    config_file = os.environ.get("RMA_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"RMA_CONFIG names {config_file!r}, which is not a file")
    secrets_dir = os.environ.get("RMA_SECRETS_DIR")
    if secrets_dir and not Path(secrets_dir).is_dir():
        raise ConfigError(f"RMA_SECRETS_DIR names {secrets_dir!r}, which is not a folder")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            field = Settings.model_fields.get(where) or next(
                (f for f in Settings.model_fields.values() if f.alias == where), None
            )
            name = (field.alias if field and field.alias else where).upper()
            secret = field is not None and "SecretStr" in str(field.annotation)
            got = "" if secret else f" (got {err.get('input')!r})"  # never echo a secret
            lines.append(f"{name}: {err['msg']}{got}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
