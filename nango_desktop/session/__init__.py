"""The per-profile middle of the GUI (Qt, no widgets): between ``ui`` and ``qtutil``.

- ``connections.ConnectionsStore``: the only loader and cache of the connection list of the current profile.
- ``binding.SignalTracker``: records the connections a page makes to per-profile objects; one call drops them.
"""
