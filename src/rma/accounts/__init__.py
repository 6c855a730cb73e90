"""People and what they may do: accounts, roles, sessions, tokens, approvals, the audit log.

- :mod:`rma.accounts.permissions`: the permission table (data) and :func:`authorise`,
  the one function every route, approval and command asks; :class:`Actor`, who acts;
- :mod:`rma.accounts.models`: sessions, tokens, service accounts, organisation
  settings, letter approvals and the audit log as database rows (users and teams are
  declared with the case, in :mod:`rma.cases.models`);
- :mod:`rma.accounts.passwords`: Argon2 hashing, with rehash when parameters change;
- :mod:`rma.accounts.directory`: users, teams and service accounts; signing in, with
  failed-attempt lockout;
- :mod:`rma.accounts.sessions`: server-side sessions for the web app, and CSRF tokens;
- :mod:`rma.accounts.tokens`: personal and service API tokens (shown once, kept hashed);
- :mod:`rma.accounts.approvals`: letters that wait for a supervisor, and the
  organisation's settings;
- :mod:`rma.accounts.audit`: the append-only, hash-chained audit log;
- :mod:`rma.accounts.web`: the web app's current-actor dependency, ``permit(action)``,
  the audit of every request, and the sign-in, token and admin routes;
- :mod:`rma.accounts.gate`: what the three services accept (service credentials only).

This package imports nothing at its top, so that lower layers (the limits approvals) can
read the permission table without pulling in the database models.

What it refuses: default credentials, passwords or tokens stored in a readable form,
client text in the audit log, and anyone approving their own proposal.
"""
