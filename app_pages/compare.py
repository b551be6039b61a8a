import streamlit as st

from ferlab.data.catalog import synthetic_names
from ferlab.runner.jobs import spec_differences
from ferlab.ui.common import store
from ferlab.ui.compare import first_view, pick_pair
from ferlab.ui.tables import common_epochs, curves_chart, curves_frame, job_label, job_trial_labels

st.title("Compare")
s = store()
runs = [x for x in s.job_summaries() if x.job.kind in ("train", "tune") and x.epochs > 0]
if not runs:
    st.info("No curves yet. Train something on **Experiments** (the demo set takes a minute).")
    st.stop()
names = {x.job.id: job_label(x.job) for x in runs}
a, b, c, d, _ = st.columns([1, 1, 1, 1, 1])
for col, label, view in ((a, "5-conv vs 8-conv", "arch"), (b, "Adam vs SGD", "optimizer"),
                         (c, "bf16 vs float32", "precision"), (d, "Distilled vs not", "distill")):
    col.button(label, on_click=lambda v=view: st.session_state.update(compare_runs=pick_pair(runs, v),
                                                                       compare_equal=True))
if "compare_runs" not in st.session_state:
    st.session_state.update(compare_runs=first_view(runs))
picked = st.multiselect("Runs", list(names), format_func=names.get, key="compare_runs")
if len(picked) > 1:
    specs = {x.job.id: x.job.spec for x in runs}
    differ = spec_differences([specs[j] for j in picked])
    st.caption("These runs differ in " + (", ".join(f"**{k}** ({' / '.join(map(str, v))})" for k, v in differ)
                                          if differ else "nothing: the same spec") + ".")
synthetic = synthetic_names(s)
on_fer2013 = not picked or any(x.job.spec.get("data") not in synthetic for x in runs if x.job.id in picked)
refs = st.toggle("Show the paper's reported accuracies", value=on_fer2013,   # off for synthetic-only curves
                 help="Sarmah et al.'s FER2013 test accuracies; nothing to set beside runs on the synthetic demo set.")
equal = st.toggle("Equal epochs only (cut every run at the shortest one's last epoch)", key="compare_equal")
x = st.radio("Against", ["epoch", "hours"], horizontal=True, format_func={"epoch": "epochs",
             "hours": "hours of epochs (the time each run's epochs took, on its own machine)"}.get)


@st.fragment(run_every=10)
def charts():
    frame = curves_frame(s, job_trial_labels(s, picked))
    if equal:
        frame = common_epochs(frame)
    if frame.empty:
        st.caption("Pick one or more runs.")
        return
    left, right = st.columns(2)
    left.altair_chart(curves_chart(frame, "accuracy", references=refs, x=x), width="stretch")
    right.altair_chart(curves_chart(frame, "loss", x=x), width="stretch")
    if x == "hours":
        if frame["hours"].isna().any():
            st.caption("Epochs whose time was not recorded, and those after them, are left out of this view.")
        jobs = {r.job.id: r.job for r in runs}
        st.caption("Where each ran: " + "; ".join(f"job {j}: {jobs[j].ran_on or 'not recorded'}" for j in picked) + ".")


charts()
