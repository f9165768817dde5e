"""An ensemble venue table seen as one forecast plus its probabilities.

A script speaks one set of numbers: those of the ensemble's first member in the table (member 0,
the control forecast, in ECMWF and NCEP numbering; our choice: the control is the member run
from the unperturbed analysis). The ensemble adds the probability columns
``p_<index>_level_ge3`` (the fraction of members at level 3 or more, :func:`bulletin.compute_indices`),
which are the same in every member's rows, so the chosen member's rows carry them.
"""

from __future__ import annotations

import pandas as pd

from ..errors import ScriptError


def is_ensemble(table: pd.DataFrame) -> bool:
    """Whether the venue table holds ensemble members (a ``member`` column)."""
    return isinstance(table, pd.DataFrame) and "member" in table.columns


def control_member(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the first member of an ensemble venue table (without the ``member``
    column, with the probability columns); a table without members is returned as it is."""
    if not is_ensemble(table):
        return table
    if table.empty:
        raise ScriptError("the ensemble venue table is empty")
    first = table["member"].iloc[0]
    return table[table["member"] == first].drop(columns="member").reset_index(drop=True)
