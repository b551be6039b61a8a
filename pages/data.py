import streamlit as st

from ferlab.data import ensure_demo
from ferlab.ui.common import friendly_errors, store
from ferlab.ui.tables import class_counts_chart, datasets_frame

st.title("Data sets")
s = store()
with friendly_errors("Preparing the demo set"):
    ensure_demo(s)
datasets = s.list_datasets()
st.dataframe(datasets_frame(datasets), hide_index=True, width="stretch")
if not any(not d.synthetic for d in datasets):
    st.info("Only the synthetic demo set is here. Import FER2013 (Kaggle's fer2013.csv, the image "
            "folders or a zip of either) with `ferlab data import PATH`.")
name = st.selectbox("Class distribution of", [d.name for d in datasets])
info = next(d for d in datasets if d.name == name)
if info.synthetic:
    st.caption("SYNTHETIC demo set: drawn faces for trying the tool; its results say nothing about FER2013.")
st.altair_chart(class_counts_chart(info), width="stretch")
