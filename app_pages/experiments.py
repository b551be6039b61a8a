import streamlit as st

from ferlab.inference.models import available_models
from ferlab.ui.common import friendly_errors, store
from ferlab.ui.forms import duration_caption, ensemble_form, submit_job, train_form, tune_form
from ferlab.ui.jobs import job_list

st.title("Experiments")
s = store()
datasets = ["demo", *(d.name for d in s.list_datasets() if d.name != "demo")]
kind = st.segmented_control("New job", ("Training", "Tuning", "Ensemble"), default="Training") or "Training"
if kind == "Training":
    spec, errors = train_form(datasets, available_models(s))
    if not errors:
        duration_caption(s, spec)
elif kind == "Tuning":
    spec, errors = tune_form(datasets)
else:
    spec, errors = ensemble_form(datasets, available_models(s))
if st.button("Submit", type="primary", disabled=bool(errors)):
    with friendly_errors("Submitting the job"):
        submit_job(s, {"Training": "train", "Tuning": "tune", "Ensemble": "ensemble"}[kind], spec)
if "demo" == spec.data:
    st.caption("The demo set is SYNTHETIC: good for trying the lab in a minute, meaningless for FER2013.")
st.divider()
job_list(s)
