"""What every page needs: one store per server process, and errors shown as messages."""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from ferlab.data.dataset import DataError
from ferlab.runner import reap_foreground
from ferlab.store import SchemaOutOfDate, Store, StoreError


MISSING = "—"      # a figure a row has not got (Streamlit's tables would read "None")


def table(frame, **options):
    """st.dataframe as the pages show one: no index, the page's width, a dash for a missing figure."""
    return st.dataframe(frame, **{"hide_index": True, "width": "stretch", "placeholder": MISSING, **options})


@st.cache_resource(show_spinner=False)
def _store(url: str | None) -> Store:
    return Store(url)


def store() -> Store:
    """The store, or a message on the page (and the page stops) when it cannot be opened."""
    from ferlab import config

    try:
        opened = _store(config.db_url())
        reap_foreground(opened)   # jobs left "running" by a foreground `ferlab train` that is gone
        return opened
    except SchemaOutOfDate as e:
        st.error(f"The run store needs an upgrade: {e}")
        st.code("ferlab db upgrade", language="bash")
    except StoreError as e:
        st.error(str(e))
    except Exception as e:  # noqa: BLE001 - a locked or unreachable database, shown not raised
        from ferlab.store.engine import unusable_store_message

        message = unusable_store_message(config.db_url(), e)
        st.error(message[0].upper() + message[1:])
    st.stop()


@contextmanager
def friendly_errors(what: str):
    """Show a failure of `what` as a message instead of a traceback."""
    try:
        yield
    except (DataError, StoreError, ValueError, KeyError) as e:
        st.error(f"{what}: {e}")
    except Exception as e:  # noqa: BLE001
        st.error(f"{what} failed ({e.__class__.__name__}: {e}). Nothing stored was lost.")
