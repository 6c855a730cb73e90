"""The client's case: the record an adviser keeps for one client.

- :mod:`rma.cases.models`: the rows (client, case, documents and the fields read from
  them, debts and where each figure came from, budget, assets, notes, letters);
- :mod:`rma.cases.store`: reading and changing a case, in one place;
- :mod:`rma.cases.vault`: client files encrypted at rest (AES-GCM, rotating keys);
- :mod:`rma.cases.erasure`: deleting a case and everything derived from it.

What it refuses: anything read from a document entering the case without an adviser's
confirmation, money as floats, and client text in logs.
"""
