"""Connect and reconnect links: new-link dialog, result view, bulk reconnect, history page, tracking."""
