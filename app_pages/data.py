import streamlit as st

from ferlab.data import DEMO_NAME, delete_dataset, ensure_demo
from ferlab.data.catalog import sample_faces, save_upload
from ferlab.labels import CLASSES
from ferlab.runner.jobs import ImportSpec
from ferlab.ui.common import friendly_errors, store, table
from ferlab.ui.forms import submit_job
from ferlab.ui.tables import class_counts_chart, datasets_frame

st.title("Data sets")
s = store()
with friendly_errors("Preparing the demo set"):
    ensure_demo(s)
datasets = s.list_datasets()
table(datasets_frame(datasets),
      column_config={c: st.column_config.NumberColumn(format="localized") for c in ("train", "val", "test")})

with st.expander("Import FER2013", expanded=not any(not d.synthetic for d in datasets)):
    upload = st.file_uploader("fer2013.csv, or a .zip of the image folders", type=["csv", "zip"])
    path = st.text_input("... or a path on the server", placeholder="/data/fer2013")
    name = st.text_input("Name (optional)")
    if st.button("Import", disabled=not (upload or path)):
        with friendly_errors("Import"):
            source = save_upload(upload.name, upload.getvalue()) if upload else path.strip()
            submit_job(s, "import", ImportSpec(str(source), name.strip() or None))
            st.caption("The import runs as a job; follow it on **Experiments**, then reload this page.")

pick, rubbish = st.columns([4, 1], vertical_alignment="bottom")
name = pick.selectbox("Data set", [d.name for d in datasets])
info = next(d for d in datasets if d.name == name)
builtin = name == DEMO_NAME
with rubbish.popover("Delete", disabled=builtin, help="The built-in demo set stays." if builtin else None):
    st.write(f"Remove {name!r} and its cache? Runs trained on it keep their records; import it again to use it.")
    if st.button(f"Delete {name}", key="delete_data", type="primary"):
        with friendly_errors("Deleting"):
            delete_dataset(s, name)
            st.toast(f"Data set {name!r} deleted.")
            st.rerun()
if info.synthetic:
    st.caption("SYNTHETIC demo set: drawn faces for trying the tool; its results say nothing about FER2013.")
st.altair_chart(class_counts_chart(info), width="stretch")


@st.cache_data(show_spinner=False, max_entries=8)
def faces(cache_path: str, _info):
    return sample_faces(_info)


with friendly_errors("Reading sample faces"):
    grid = faces(info.cache_path, info)
    for code, cls in enumerate(CLASSES):
        cols = st.columns([1] + [1] * 6)
        cols[0].markdown(f"**{cls}**")
        for col, face in zip(cols[1:], grid[code]):
            col.image(face, width=48)
