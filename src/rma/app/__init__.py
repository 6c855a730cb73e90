"""The adviser app (``rma serve app``, port 8103): the client's case over HTTP.

It owns the case database and the encrypted client files, and calls the three services
over HTTP with its service key, as a real deployment would: the doc-processor reads
uploaded documents, the notes service writes letters, the RAG service indexes and
searches each case's documents on their own. Routes live one module per resource under
:mod:`rma.app.routes`; every route learns who is acting from one dependency
(:func:`rma.app.actor.current_actor`), and every read of a client's documents goes
through :func:`rma.app.actor.record_access`.
"""
