"""ODS naming rules: table names in the replica, quoted identifiers.

(Source types map to DuckDB types in `kuaike.capture.registry`: each source kind owns its map.)
"""

from __future__ import annotations

ODS_RENAMES: dict[str, tuple[str, str]] = {"crm": ("crm_", "tbl_")}
"""Per source: a table-name prefix replaced in ODS (as the reference's Canal parser did)."""


def ods_name(source: str, table: str) -> str:
    """The ODS table name for a source table.

    >>> ods_name("crm", "crm_customer")
    'tbl_customer'
    """
    rule = ODS_RENAMES.get(source)
    if rule and table.startswith(rule[0]):
        return rule[1] + table[len(rule[0]) :]
    return table


def quote(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'
