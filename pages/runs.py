import streamlit as st

from ferlab.ui.common import store
from ferlab.ui.tables import curves_chart, curves_frame, jobs_frame

st.title("Runs")
s = store()
jobs = jobs_frame(s)
if jobs.empty:
    st.info("No runs yet: `ferlab train --preset paper-4conv-baseline --data demo --epochs 3` "
            "records one in a minute.")
    st.stop()
st.dataframe(jobs, hide_index=True, width="stretch")
picked = st.multiselect("Curves of", jobs["job"].tolist(), default=jobs["job"].tolist()[:1])


@st.fragment(run_every=10)
def curves():
    frame = curves_frame(s, picked)
    if frame.empty:
        st.caption("No epoch finished yet.")
        return
    left, right = st.columns(2)
    left.altair_chart(curves_chart(frame, "accuracy"), width="stretch")
    right.altair_chart(curves_chart(frame, "loss"), width="stretch")


curves()
