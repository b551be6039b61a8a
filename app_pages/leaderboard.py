import streamlit as st

from ferlab.literature import MISSING_TABLE2_ROWS, PAPER
from ferlab.data.catalog import synthetic_names
from ferlab.inference.models import shipped_job
from ferlab.runner.jobs import model_lineages
from ferlab.ui.common import store, table
from ferlab.ui.jobs import BOARD_COLUMNS
from ferlab.ui.results import class_by_class
from ferlab.ui.tables import leaderboard_frame

st.title("Leaderboard")
s = store()
synthetic = synthetic_names(s)
summaries = s.job_summaries()
shipped = shipped_job(s)
frame = leaderboard_frame(summaries, synthetic, lineages=model_lineages(s, summaries), shipped=shipped)
sources = st.multiselect("Sources", ["user", "reference", "literature"], default=["user", "reference", "literature"],
                         help="user: your runs; reference: the real runs ferlab ships; literature: published results")
real = frame[~frame["synthetic"]] if not frame.empty else frame
if not real.empty:
    real = real[real["source"].isin(sources)]
    real = real.assign(rank=range(1, len(real) + 1))
    table(real.drop(columns=["synthetic"]), column_config=BOARD_COLUMNS)
    st.download_button("Download CSV", real.to_csv(index=False), "ferlab-leaderboard.csv", "text/csv")
st.caption(f"Our runs rank by the accuracy of their best-val checkpoint on the split the **split** column "
           "names: test, or val where a data set has no test split (a FER2013 imported without PrivateTest "
           "ranks on PublicTest; the literature's figures are on the test set). \"With flip TTA\" is the "
           "same model averaging each face with its mirror image, as Predict's Flip TTA toggle does; a model "
           "that does so itself (`ferlab ensemble --flip`, the shipped one among them) has the same figure "
           "in both. "
           + (f"**shipped** is ticked for job {shipped}, whose file is the model Predict runs by default (the "
              "model card on Predict says how it was made). " if shipped is not None else "")
           + "Literature rows "
           f"come from {PAPER}, Table 2; {MISSING_TABLE2_ROWS} of its rows are not reproduced here "
           "(see ferlab/literature.py).")
if real.empty or not (real["source"] != "literature").any():
    st.info("None of your FER2013 runs has finished yet. Import FER2013 on **Data**, then train on **Experiments**.")
demo = frame[frame["synthetic"]] if not frame.empty else frame
if not demo.empty:
    st.subheader("Synthetic demo-set runs (not ranked with FER2013)")
    table(demo.drop(columns=["synthetic", "rank"]), column_config=BOARD_COLUMNS)

class_by_class(s, summaries, synthetic)
