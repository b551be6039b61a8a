"""FER2013 readers, the import cache and the synthetic demo set."""

from ferlab.data.catalog import ImportReport, delete_dataset, ensure_demo, import_dataset, load_dataset
from ferlab.data.dataset import DataError, Dataset, Problem, Split
from ferlab.data.demo import DEMO_NAME, demo_dataset
from ferlab.data.readers import read_source

__all__ = ["DEMO_NAME", "DataError", "Dataset", "ImportReport", "Problem", "Split", "delete_dataset",
           "demo_dataset", "ensure_demo", "import_dataset", "load_dataset", "read_source"]
