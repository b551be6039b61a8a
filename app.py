"""ferlab's Streamlit app: navigation over app_pages/ and nothing else.

The pages are not in `pages/`: Streamlit runs a `pages/` file directly, without this script's
navigation, when a fresh server's first request is that page's URL (a bookmark)."""

import streamlit as st

st.set_page_config(page_title="ferlab", page_icon=":material/sentiment_satisfied:", layout="wide")
st.navigation([
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("app_pages/experiments.py", title="Experiments", icon=":material/science:"),
    st.Page("app_pages/trials.py", title="Trials", icon=":material/tune:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/monitoring:"),
    st.Page("app_pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("app_pages/predict.py", title="Predict", icon=":material/face:"),
]).run()
