import streamlit as st

from ferlab.ui.common import store
from ferlab.ui.jobs import COLUMNS
from ferlab.ui.tables import jobs_frame, leaderboard_frame

st.title("ferlab")
st.write("CNNs trained from scratch on FER2013 (48x48 grey faces, 7 emotions), after Sarmah et al., "
         "*Emotion Recognition Through Facial Expressions Using CNN* (2023).")
s = store()


@st.fragment(run_every=5)
def running():
    frame = jobs_frame(s.job_summaries(status="running"))
    if frame.empty:
        st.caption("Nothing is running.")
    else:
        st.dataframe(frame.drop(columns=["created"]), hide_index=True, width="stretch", column_config=COLUMNS)


st.subheader("Running now")
running()
st.subheader("Best models so far")
synthetic = {d.name for d in s.list_datasets() if d.synthetic} | {"demo"}
board = leaderboard_frame(s.job_summaries(), synthetic, literature=False)
if board.empty or board["synthetic"].all():
    st.info("Where to start: **Data** shows the built-in synthetic demo set and imports FER2013; "
            "**Experiments** launches a training or tuning job (preset `demo-quick` on the demo set shows a real curve in about a minute); "
            "**Compare** and **Leaderboard** set your runs beside the paper's.")
else:
    st.dataframe(board[~board["synthetic"]].head(5).drop(columns=["synthetic", "rank"]), hide_index=True,
                 width="stretch")
