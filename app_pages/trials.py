import streamlit as st

from ferlab.ui.common import store, table
from ferlab.ui.jobs import COLUMNS
from ferlab.ui.tables import curves_chart, curves_frame, job_label, parallel_coordinates_chart, trials_frame

st.title("Trials")
s = store()
tunes = [j for j in s.list_jobs() if j.kind == "tune"]
if not tunes:
    st.info("No tuning job yet. Start one on **Experiments** (Tuning) or with "
            "`ferlab tune --model 8conv --trials 10 --epochs-per-trial 5 --data demo`.")
    st.stop()
names = {j.id: job_label(j) + (f" ({j.status})" if j.status != "completed" else "") for j in tunes}
job_id = st.selectbox("Tuning job", list(names), format_func=names.get)
live = next(j for j in tunes if j.id == job_id).status in ("queued", "running")


@st.fragment(run_every=10 if live else None)
def trials(job_id: int) -> None:
    frame = trials_frame(s, job_id)
    if frame.empty:
        st.caption("No trial has started yet; this refreshes itself." if live else "No trial ran.")
        return
    if live:   # in trial order, so that a refresh never moves the rows picked below
        st.caption("The search runs: its trials refresh every 10 s, in the order they started.")
    else:
        frame = frame.sort_values("best val acc", ascending=False, na_position="last")
    picked = table(frame.drop(columns=["trial_id"]), on_select="rerun", selection_mode="multi-row",
                   key="trial_table", column_config=COLUMNS)
    tuned = [c for c in frame.columns if c.startswith("filters_") or c in ("conv_dropout", "dense_dropout",
                                                                             "learning_rate", "batch_size", "optimizer")]
    dims = [c for c in tuned if frame[c].nunique() > 1]       # an axis where every trial sits alike says nothing
    if frame["best val acc"].notna().any() and dims:
        st.subheader("Hyperparameters against val accuracy")
        st.altair_chart(parallel_coordinates_chart(frame, dims), width="stretch")
        fixed = [f"{c} {frame[c].dropna().iloc[0]}" for c in tuned if c not in dims and frame[c].notna().any()]
        if fixed:
            st.caption("The same in every trial: " + ", ".join(fixed) + ".")
    top = frame.sort_values("best val acc", ascending=False, na_position="last").index[:3]
    chosen = frame.iloc[picked.selection.rows] if picked.selection.rows else frame.loc[top]
    labels = {int(r.trial_id): f"trial {int(r.trial)}" for r in chosen.itertuples()}
    curves = curves_frame(s, labels)
    st.subheader("Curves of the selected trials" if picked.selection.rows else "Curves of the top trials")
    if not curves.empty:
        left, right = st.columns(2)
        left.altair_chart(curves_chart(curves, "accuracy"), width="stretch")
        right.altair_chart(curves_chart(curves, "loss"), width="stretch")


trials(job_id)
