"""ferlab's Streamlit app: navigation over pages/ and nothing else."""

import streamlit as st

st.set_page_config(page_title="ferlab", page_icon=":material/sentiment_satisfied:", layout="wide")
st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/dataset:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
    st.Page("pages/trials.py", title="Trials", icon=":material/tune:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/monitoring:"),
    st.Page("pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("pages/predict.py", title="Predict", icon=":material/face:"),
]).run()
