"""Jobs on the store, run by worker processes (`ferlab worker`)."""

from ferlab.runner.jobs import delete_job, dependents, parse_spec, submit
from ferlab.runner.worker import Worker, ensure_worker, live_worker, no_log_reason, reap_foreground, start_detached_worker, tail

__all__ = ["Worker", "delete_job", "dependents", "ensure_worker", "live_worker", "no_log_reason", "parse_spec", "reap_foreground", "start_detached_worker", "submit", "tail"]
