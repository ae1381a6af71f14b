"""End users as a table (one row per end user) or a tree grouped by organization.

``EndUsersModel`` shows a ``Directory`` (``domain.endusers.build_directory``, computed off the GUI thread).
Flat: users at the top level. Grouped: organizations at the top level, their users as children (index
internal id 0 for top-level rows, ``parent row + 1`` for children). Like the connections model it sorts
itself with Python's ``sort`` on precomputed keys (``EndUsersFilterProxy.sort`` delegates here) and keeps
persistent indexes through ``layoutChanged``. The proxy filters on a lowercase haystack and "broken only".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from nango_desktop.domain.endusers import Directory, EndUser, Organization
from nango_desktop.domain.natsort import natural_key
from nango_desktop.ui.theme import STATUS_COLORS

COLUMNS = ("End user", "Email", "Organization", "End user id", "Connections", "Broken")
(NAME, EMAIL, ORGANIZATION, END_USER_ID, CONNECTIONS, BROKEN) = range(len(COLUMNS))
ItemRole = Qt.ItemDataRole.UserRole + 1  # the EndUser or Organization
SortKeyRole = Qt.ItemDataRole.UserRole + 2
NO_ORGANIZATION = "(no organization)"

Index = QModelIndex | QPersistentModelIndex


def user_cells(user: EndUser) -> tuple[str, ...]:
    return (
        user.label,
        user.email or "",
        user.organization,
        user.end_user_id or "",
        str(len(user.connections)),
        str(len(user.broken)),
    )


def org_cells(org: Organization) -> tuple[str, ...]:
    """An organization row: its name, how many end users, its id under "Organization" (never under
    "End user id", where an organization id would read as a user's)."""
    return (
        org.label or NO_ORGANIZATION,
        f"{len(org.users):,} end user{'' if len(org.users) == 1 else 's'}",
        org.organization_id or "",
        "",
        str(len(org.connections)),
        str(len(org.broken)),
    )


def _sort_key(item: EndUser | Organization, column: int) -> Any:
    cells = user_cells(item) if isinstance(item, EndUser) else org_cells(item)
    return int(cells[column]) if column in (CONNECTIONS, BROKEN) else natural_key(cells[column])


class EndUsersModel(QAbstractItemModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._directory = Directory()
        self._grouped = False
        self._users: list[EndUser] = []
        self._orgs: list[Organization] = []
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    # -- content ----------------------------------------------------------------------------------------
    @property
    def directory(self) -> Directory:
        return self._directory

    @property
    def grouped(self) -> bool:
        return self._grouped

    def set_directory(self, directory: Directory) -> None:
        self.beginResetModel()
        self._directory = directory
        self._users = list(directory.users)
        self._orgs = [
            Organization(o.key, o.organization_id, o.name, list(o.users)) for o in directory.organizations
        ]
        self._sort_in_place()
        self.endResetModel()

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self._grouped:
            self.beginResetModel()
            self._grouped = grouped
            self.endResetModel()

    def item(self, index: Index) -> EndUser | Organization | None:
        if not index.isValid():
            return None
        parent_id = index.internalId()
        if parent_id:
            return self._orgs[parent_id - 1].users[index.row()]
        return self._orgs[index.row()] if self._grouped else self._users[index.row()]

    def index_of(self, key: str, *, organization: bool = False) -> QModelIndex:
        """Index (column 0) of the end user (or organization) with ``key``; invalid when not shown."""
        if organization:
            row = next((i for i, o in enumerate(self._orgs) if o.key == key), None)
            return self.index(row, 0) if self._grouped and row is not None else QModelIndex()
        if not self._grouped:
            row = next((i for i, u in enumerate(self._users) if u.key == key), None)
            return self.index(row, 0) if row is not None else QModelIndex()
        for org_row, org in enumerate(self._orgs):
            for row, user in enumerate(org.users):
                if user.key == key:
                    return self.index(row, 0, self.index(org_row, 0))
        return QModelIndex()

    # -- Qt model API -----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        if self._grouped and parent.internalId() == 0:
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._orgs) if self._grouped else len(self._users)
        if self._grouped and parent.internalId() == 0 and parent.column() == 0:
            return len(self._orgs[parent.row()].users)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index)
        if item is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            cells = user_cells(item) if isinstance(item, EndUser) else org_cells(item)
            return cells[column]
        if role == ItemRole:
            return item
        if role == SortKeyRole:
            return _sort_key(item, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == BROKEN and item.broken:
            return QBrush(QColor(STATUS_COLORS["auth_error"]))
        if role == Qt.ItemDataRole.FontRole and isinstance(item, Organization):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (CONNECTIONS, BROKEN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == BROKEN:
            return "Connections with an auth error: the customer must reconnect"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.internalId() or not self._grouped:
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    # -- sorting ----------------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        items = [(self.item(i), i.column()) for i in old]
        self._sort_in_place()
        new = [self._index_for(item, column) for item, column in items]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _sort_in_place(self) -> None:
        column = self._sort_column
        if column < 0:
            return
        reverse = self._sort_order == Qt.SortOrder.DescendingOrder
        self._users.sort(key=lambda u: _sort_key(u, column), reverse=reverse)
        self._orgs.sort(key=lambda o: _sort_key(o, column), reverse=reverse)
        self._orgs.sort(key=lambda o: not o.key)  # stable: "(no organization)" stays last either way
        for org in self._orgs:
            org.users.sort(key=lambda u: _sort_key(u, column), reverse=reverse)

    def _index_for(self, item: EndUser | Organization | None, column: int) -> QModelIndex:
        if item is None:
            return QModelIndex()
        if isinstance(item, Organization):
            row = next((i for i, o in enumerate(self._orgs) if o is item), None)
            return self.createIndex(row, column, 0) if row is not None else QModelIndex()
        if not self._grouped:
            row = next((i for i, u in enumerate(self._users) if u is item), None)
            return self.createIndex(row, column, 0) if row is not None else QModelIndex()
        for org_row, org in enumerate(self._orgs):
            for row, user in enumerate(org.users):
                if user is item:
                    return self.createIndex(row, column, org_row + 1)
        return QModelIndex()


class EndUsersFilterProxy(QSortFilterProxyModel):
    """Search terms (all must match the user's haystack) and "only users with broken connections"."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self._terms: tuple[str, ...] = ()
        self._broken_only = False

    def set_text(self, text: str) -> None:
        terms = tuple(text.lower().split())
        if terms != self._terms:
            self.beginFilterChange()
            self._terms = terms
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_broken_only(self, on: bool) -> None:
        if on != self._broken_only:
            self.beginFilterChange()
            self._broken_only = on
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802 - Qt override
        source = self.sourceModel()
        item = source.item(source.index(source_row, 0, source_parent))  # type: ignore[attr-defined]
        if not isinstance(item, EndUser):
            return False  # organizations show when one of their users matches (recursive filtering)
        if self._broken_only and not item.broken:
            return False
        haystack = item.haystack()
        return all(term in haystack for term in self._terms)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def item(self, index: Index) -> EndUser | Organization | None:
        return index.data(ItemRole) if index.isValid() else None
