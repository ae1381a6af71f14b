"""Everything the app persists, one module per file it writes (Qt-free, below services):

- ``events``: received webhooks (SQLite per profile, schema version + migrations, FTS index);
- ``links``: the history of issued connect/reconnect links (SQLite, never a session token);
- ``tokens``: live link session tokens (in memory or the OS keyring, dropped when the link ends).

Settings (profiles, no secrets) are ``nango_desktop.settings``; keys are ``services.secrets`` (keyring).
"""
