import streamlit as st

from ferlab.ui.common import store
from ferlab.ui.tables import jobs_frame

st.title("ferlab")
st.write("CNNs trained from scratch on FER2013 (48x48 grey faces, 7 emotions), after Sarmah et al., "
         "*Emotion Recognition Through Facial Expressions Using CNN* (2023).")
s = store()
jobs = jobs_frame(s, limit=10)
if jobs.empty:
    st.info("No runs yet. Start with the synthetic demo set (it needs no download): "
            "`ferlab train --preset paper-4conv-baseline --data demo --epochs 3`, then open **Runs**. "
            "To use FER2013, import it on **Data** or with `ferlab data import PATH`.")
else:
    st.subheader("Latest runs")
    st.dataframe(jobs, hide_index=True, width="stretch")
