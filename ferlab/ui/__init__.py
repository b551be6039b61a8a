"""Helpers shared by the Streamlit pages: the cached store and error display (never training)."""
