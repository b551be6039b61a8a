"""The live job list (a fragment that reruns itself, not the page) with cancel, retry and log."""

from __future__ import annotations

import streamlit as st

from ferlab.runner import delete_job, dependents, ensure_worker, live_worker, no_log_reason, tail
from ferlab.runner.jobs import command_line
from ferlab.store import Store
from ferlab.ui.common import friendly_errors, table
from ferlab.ui.tables import jobs_frame

PARAMS = st.column_config.NumberColumn(format="localized")      # 5,281,223 rather than 5281223
COLUMNS = {"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
           "best val acc": st.column_config.NumberColumn(format="%.4f"),
           "test acc": st.column_config.NumberColumn(format="%.4f"), "params": PARAMS}
BOARD_COLUMNS = {"shipped": st.column_config.CheckboxColumn(
                     width="small", help="The model Predict runs by default (ferlab/assets/ferlab-default.keras): "
                                         "this run wrote it."),
                 "accuracy": st.column_config.NumberColumn(format="%.4f"),     # leaderboard_frame's
                 "with flip TTA": st.column_config.NumberColumn(format="%.4f"), "params": PARAMS,
                 "epochs": st.column_config.NumberColumn(
                     help="Epochs that trained the model from random weights: a run started from another's model "
                          "counts that one's too, an ensemble its members'."),
                 "hours": st.column_config.NumberColumn(
                     format="%.2f", help="Wall time of those epochs on the machine(s) they ran on (the next column)."),
                 "machine": st.column_config.TextColumn(width="medium", help="Where the run ran, as it recorded")}


@st.fragment(run_every=5)
def job_list(store: Store, limit: int = 50) -> None:
    frame = jobs_frame(store.job_summaries(limit=limit))
    if frame.empty:
        st.info("No jobs yet: submit one above.")
        return
    if (frame["status"] == "queued").any() and not live_worker(store):
        st.warning("Jobs are queued but no worker is running. Start one with `ferlab worker`, "
                   "or submit again (the app starts one).")
    table(frame.drop(columns=["created"]), column_config=COLUMNS)
    job_id = st.selectbox("Job", frame["job"].tolist(), key="job_pick")
    job = store.get_job(job_id)
    left, right, rubbish, _ = st.columns([1, 1, 1, 3])
    if left.button("Cancel", disabled=job.status not in ("queued", "running"), key="cancel"):
        with friendly_errors("Cancelling"):
            store.request_cancel(job_id)
            st.toast(f"Job {job_id}: cancel requested; it stops after its current epoch.")
    if right.button("Retry", disabled=job.status not in ("failed", "cancelled") or job.origin == "reference",
                     key="retry"):
        with friendly_errors("Retrying"):
            store.retry_job(job_id)
            ensure_worker(store)
            st.toast(f"Job {job_id} queued again; it resumes from its last checkpoint.")
    deletable, deleted = job.status != "running" and job.origin != "reference", False
    with rubbish.popover("Delete", disabled=not deletable,
                         help="A shipped reference run stays; a running job must be cancelled first."):
        st.write(f"Delete job {job_id}: its epochs, models and checkpoints? This cannot be undone.")
        used = dependents(store, job_id) if deletable else []
        if used:
            st.warning(f"Its model is used: {'; '.join(used)}. Those jobs keep their own models, but their "
                       "records will name a deleted one.")
        if st.button(f"Delete job {job_id}", key="delete", type="primary"):
            with friendly_errors("Deleting"):
                delete_job(store, job_id)
                deleted = True
    if deleted:
        st.toast(f"Job {job_id} deleted.")
        st.rerun()
    if job.origin == "reference":
        st.caption(f"Job {job_id} is a shipped reference run: a record of a real run, with no log or checkpoints "
                   f"here. It ran on {job.ran_on or 'a machine it did not record'}, with:")
        st.code(job.spec.get("reference_command") or "(no command recorded)", language="bash", wrap_lines=True)
        return
    if job.machine:
        st.caption(f"Ran on {job.machine}.")
    command = command_line(job.kind, job.spec)
    if command:
        st.caption("The same job from a shell (on a GPU machine, say; add `--background` to queue it there):")
        st.code(command, language="bash", wrap_lines=True)
    if job.error and job.status == "failed":
        st.error(job.error.strip().splitlines()[-1])
    log = tail(job.log_path, 25)
    if log:
        st.code(log, language="text")
    else:
        reason = no_log_reason(job)
        st.caption(reason[0].upper() + reason[1:] + ".")
