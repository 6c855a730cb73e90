"""Every default in one place. Settings read these; nothing else hard-codes them."""

from __future__ import annotations

# Service ports (the deployment files and tests check they agree with these).
NOTES_PORT = 8100
DOCS_PORT = 8101
RAG_PORT = 8102
APP_PORT = 8103  # the adviser app (rma serve app)

# Backends
DEFAULT_VLLM_URL = "http://localhost:8000/v1"
DEFAULT_OLLAMA_URL = "http://localhost:11434"
DEFAULT_VLLM_MODEL = "smollm2-135m-instruct"
DEFAULT_VLLM_EMBED_MODEL = "all-minilm-l6-v2"
DEFAULT_OLLAMA_MODEL = "llama3.1:8b"
DEFAULT_OLLAMA_EMBED_MODEL = "all-minilm"
DEFAULT_OLLAMA_VISION_MODEL = "llava:7b"
DEFAULT_OLLAMA_NUM_CTX = 8192
DEFAULT_OLLAMA_KEEP_ALIVE = "30m"
LOCAL_CHAT_MODEL = "smollm2-135m-instruct-q4_1"
LOCAL_EMBED_MODEL = "all-minilm-l6-v2-onnx-int8"
LOCAL_CONTEXT_TOKENS = 2048
# vLLM's JSON grammar without free whitespace between tokens: small models otherwise run on
# in whitespace to the token limit (measured on SmolLM2: 0 of 12 extractions valid with
# free whitespace, 8 of 12 without). Passed as --structured-outputs-config.
VLLM_STRUCTURED_OUTPUTS_CONFIG = '{"backend": "xgrammar", "disable_any_whitespace": true}'
# Context window of the served vLLM model (its --max-model-len); budgets prompts.
DEFAULT_VLLM_CONTEXT_TOKENS = 2048
LOCAL_THREADS = 2

# Timeouts, seconds
CONNECT_TIMEOUT = 3.0
FIRST_TOKEN_TIMEOUT = 60.0
TOTAL_TIMEOUT = 300.0

# Retries: attempts per backend before falling back to the next in the chain.
RETRY_ATTEMPTS = 2
RETRY_BACKOFF_BASE = 0.25
RETRY_BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 30.0

# Circuit breaker
BREAKER_FAILURE_THRESHOLD = 3
BREAKER_RESET_AFTER = 15.0

# Concurrency per backend: requests in flight, and how many may wait behind them.
VLLM_MAX_IN_FLIGHT = 64
OLLAMA_MAX_IN_FLIGHT = 4
LOCAL_MAX_IN_FLIGHT = 1
DEFAULT_QUEUE_LIMIT = 256
QUEUE_WAIT_TIMEOUT = 120.0

# Migration: shadow copies running at once before more are dropped (and counted).
SHADOW_MAX_PENDING = 8

# Input bounds
MAX_PROMPT_CHARS = 200_000
MAX_OUTPUT_TOKENS = 4096
DEFAULT_MAX_TOKENS = 512
MAX_EMBED_BATCH = 256
MAX_IMAGE_BYTES = 20 * 1024 * 1024

# Notes service: plain-English target (reading age = Flesch-Kincaid grade + 5), and
# how long letters are kept for download (0: never kept; notes are personal data).
NOTES_READING_AGE_TARGET = 11.0
NOTES_RETAIN_SECONDS = 0
# The model's extraction reply, in tokens (also its share of the context). Debts, actions
# and deadlines are read by code, so a short reply loses wording, never a fact.
NOTES_EXTRACT_MAX_TOKENS = 640
NOTES_MAX_RETAINED = 200

# Notes letters scored against hand-written answer keys (rma.notes.evaluate): the corpus
# folder, and how long one letter may take on a slow CPU-only service.
NOTES_CORPUS = "corpora/notes"
NOTES_EVALUATE_TIMEOUT = 900.0

REQUEST_ID_HEADER = "X-Request-ID"
API_KEY_HEADER = "X-API-Key"

# The services' edge (rma.service): what a request may be before any route sees it.
# A JSON or text body, unless a route declares its own limit (uploads do).
MAX_BODY_BYTES = 1024 * 1024
# Nesting of a JSON body: far beyond any request the services take (theirs are 3-4 deep).
MAX_JSON_DEPTH = 32
# API keys shorter than this are refused at start-up (32 characters: e.g. 24 random bytes
# in base64, or `openssl rand -hex 16`).
MIN_API_KEY_CHARS = 32
# Requests per API key (per client address when keys are off), in the `limits` notation:
# "120/minute", several separated by ";" ("20/second;600/minute"); empty turns it off.
DEFAULT_RATE_LIMIT = "120/minute"
# One background probe of every backend this often; /ready answers from its last result.
READY_PROBE_SECONDS = 10.0
# A probe that takes longer than this reports the service not ready.
READY_PROBE_TIMEOUT = 30.0

# Untrusted documents (rma.ocr.workers): parsed and OCR'd in worker processes, each with an
# address-space limit, and each document within a budget of decoded bytes and seconds.
DOCUMENT_WORKERS = 2
DOCUMENT_WORKER_MEMORY_MB = 1536
DOCUMENT_SECONDS = 120.0
# What one document may decode to: a PDF's compressed streams other than images (page
# contents, fonts, object streams) each up to MAX_PDF_STREAM_BYTES and all together up to
# MAX_DECODED_BYTES (images are bounded by their declared pixels instead); an Office
# file's parts unzipped, up to MAX_DECODED_BYTES.
MAX_PDF_STREAM_BYTES = 64_000_000
MAX_DECODED_BYTES = 250_000_000

# The database (rma.db): the SQLite file under RMA_DATA_DIR when RMA_DATABASE_URL is empty,
# how long SQLite waits for another writer, and the PostgreSQL advisory lock that lets one
# replica at a time run migrations (an arbitrary constant: "RMA" in ASCII).
DATABASE_FILE = "rma.db"
SQLITE_BUSY_TIMEOUT_MS = 5_000
MIGRATION_LOCK_ID = 0x524D41

# Legal limits (rma.limits): the jurisdiction a lookup means when none is named.
DEFAULT_JURISDICTION = "england-wales"

# Eligibility (rma.eligibility): a client's figure within this share of a limit, either
# side, is a near miss worth a second look; so is a waiting period this many days short.
NEAR_MISS_SHARE = "0.1"
NEAR_MISS_DAYS = 31

# The client's case (rma.cases, the adviser app): the largest document an adviser may
# upload (the doc-processor's own limit), documents read at once per app process, and how
# long the app waits for another service (reading a long scanned PDF takes minutes).
CASE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
DOCUMENTS_PROCESSED_AT_ONCE = 2
# A page read with less confidence than this is flagged to be checked by eye (the
# doc-processor's warning, and the page's reading status in the app).
LOW_PAGE_CONFIDENCE = 0.6
# The adviser app's dashboard: cases a page, newest activity first.
CASES_PER_PAGE = 25
SERVICE_TIMEOUT = 600.0
SERVICE_CONNECT_TIMEOUT = 5.0

# Accounts (rma.accounts). Argon2id parameters: RFC 9106's second recommended option
# (64 MiB, 3 passes, 4 lanes), argon2-cffi's own default; what a hash costs here is
# measured by `rma bench accounts` (docs/security.md). Raising them rehashes each
# password at its owner's next sign-in.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65_536
ARGON2_PARALLELISM = 4
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024
# Sign-in lockout: after this many failures in a row, refused for this long.
LOGIN_MAX_FAILURES = 5
LOGIN_LOCKOUT_MINUTES = 15
# Web sessions: ended after this long without a request, and this long after sign-in.
SESSION_IDLE_MINUTES = 60
SESSION_ABSOLUTE_HOURS = 12
# A session's last-seen time is written at most this often (not on every request).
SESSION_TOUCH_SECONDS = 60
SESSION_COOKIE = "rma_session"
# With Secure cookies the name carries the __Host- prefix: the browser then refuses it
# without Secure, with a Domain, or with a Path other than /.
SESSION_COOKIE_SECURE_PREFIX = "__Host-"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
# API tokens: personal ones expire (default and longest life, days); service ones may not.
TOKEN_DAYS = 90
TOKEN_MAX_DAYS = 365
PERSONAL_TOKEN_PREFIX = "rmat_"
SERVICE_TOKEN_PREFIX = "rmas_"
# Audit log: entries older than this are removed by `rma audit purge` (six years, the
# period debt-advice records are commonly kept for).
AUDIT_RETENTION_DAYS = 2192
# Organisation settings and their defaults.
LETTERS_NEED_APPROVAL = True

# Word lists a PDF cleaner may rebuild unreadable ligatures from (Debian's wbritish first).
WORD_LISTS = ("/usr/share/dict/british-english", "/usr/share/dict/words")

# The application's name for its per-user data directory (platformdirs), used when
# RMA_DATA_DIR is not set: the same place whatever folder a command runs in.
DATA_DIR_APP = "rma"

# A manual's page shown beside a citation: rendered at this resolution (sharp on screen,
# a few hundred kilobytes of PNG), with this many passages of context around a cited one.
PAGE_IMAGE_DPI = 110
PASSAGE_CONTEXT = 2
