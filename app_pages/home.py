import streamlit as st

from ferlab.data.catalog import synthetic_names
from ferlab.inference.models import shipped_job
from ferlab.runner.jobs import model_lineages
from ferlab.ui.common import store, table
from ferlab.ui.jobs import BOARD_COLUMNS, COLUMNS
from ferlab.ui.tables import jobs_frame, leaderboard_frame

st.title("ferlab")
st.write("CNNs trained from scratch on FER2013 (48x48 grey faces, 7 emotions), after Sarmah et al., "
         "*Emotion Recognition Through Facial Expressions Using CNN* (2023).")
st.markdown("- **Predict** runs the shipped model (its model card there says how it was made and what it scores), "
            "or any model you train, on your photos or webcam.\n"
            "- **Compare** and **Leaderboard** set real FER2013 runs (the reference runs ferlab ships, and yours) "
            "beside the paper's.\n"
            "- **Data** imports FER2013 (the Kaggle CSV or image folders); **Experiments** launches training, "
            "tuning and ensembles (preset `demo-quick` on the built-in synthetic demo set shows a real curve in "
            "about a minute).")
s = store()


@st.fragment(run_every=5)
def running():
    frame = jobs_frame(s.job_summaries(status="running"))
    if frame.empty:
        st.caption("Nothing is running.")
    else:
        table(frame.drop(columns=["created"]), column_config=COLUMNS)


st.subheader("Running now")
running()
st.subheader("Best models so far")
synthetic = synthetic_names(s)
summaries = s.job_summaries()
board = leaderboard_frame(summaries, synthetic, literature=False, lineages=model_lineages(s, summaries),
                          shipped=shipped_job(s))
if board.empty or board["synthetic"].all():
    st.info("No FER2013 run has finished yet: import FER2013 on **Data**, then train on **Experiments**.")
else:
    table(board[~board["synthetic"]].head(5).drop(columns=["synthetic", "rank"]), column_config=BOARD_COLUMNS)
