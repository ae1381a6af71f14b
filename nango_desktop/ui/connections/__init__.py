"""Connections browser: ConnectionsModel / ConnectionsFilterProxy, ConnectionsPage, ConnectionDetail."""
