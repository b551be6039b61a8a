import streamlit as st

from ferlab.ui.common import store
from ferlab.ui.predict import model_picker, photos_tab, webcam_tab

st.title("Predict")
predictor = model_picker(store())
photos, webcam = st.tabs(["Photos", "Webcam"])
with photos:
    photos_tab(predictor)
with webcam:
    webcam_tab(predictor)
