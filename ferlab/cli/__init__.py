"""`ferlab ...` (also `python -m ferlab`): data, db, train, tune, ensemble, jobs, worker, predict,
evaluate, export. One module a group of commands; `main` runs one and turns the errors a user can
mend into one line on stderr."""

from __future__ import annotations

import os
import sys

from ferlab.cli.parser import build_parser
from ferlab.cli.runs import train_spec, tune_spec

__all__ = ["build_parser", "main", "train_spec", "tune_spec"]


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's start-up chatter (oneDNN, CUDA probes) hides the CLI's own output; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ferlab.data.dataset import DataError
    from sqlalchemy.exc import DBAPIError

    from ferlab.store import StoreError

    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except (DataError, StoreError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except DBAPIError as e:         # a runs.db that is no database, a PostgreSQL server that is down
        from ferlab import config
        from ferlab.store.engine import unusable_store_message

        print(f"error: {unusable_store_message(config.db_url(), e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ferlab jobs list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
