#!/usr/bin/env bash
# Four FER2013 training runs side by side on one GPU, with ferlab's own commands, inside a fixed
# time budget (a lent GPU machine gives minutes, not hours). What ran is in docs/gpu.md:
#
#   BUDGET=470 EPOCHS=60 bash scripts/gpu_runs.sh     (repo root; ../shared/fer2013 or .devdata/fer2013.tar.xz)
#
# - b: the paper's 8-conv model with ferlab's recipe (SGD-Nesterov, cosine, warm-up, weight decay,
#   label smoothing, random erasing); c and d: the same recipe on the paper's 5-conv model (seeds
#   21, 22); e: the ferlab-compact preset. PRESET_B..PRESET_E, SEED_B..SEED_E and AUG_B..AUG_E
#   (default paper-erasing; "strong" for long runs) change them; RUNS="b e" (say) launches only those;
#   ENSEMBLE=1 averages b-e's models at the end (leave it about 60 s of the call).
# - a (with PAPER=1, or RUNS=a alone): the paper's 8-conv Adam recipe (batch 32, lr 1e-4 constant, 150
#   epochs). It gets whatever the budget leaves; it is the run stopped first (SIGINT: interrupted,
#   resumable with `ferlab train --resume JOB`) when the others would not finish in time.
# - rN (RUNS="r41 r42", say): resume job N, stopped by the budget of an earlier call on the same warm
#   machine (its checkpoint and runs.db are still there), with `ferlab train --resume N`.
# All in mixed bfloat16, batch 64 for b-e (learning rate scaled with the batch: 0.04), under JAX
# unless KERAS_BACKEND says otherwise. Outputs go to $OUT (default /tmp/gpu-out): runs.db, the
# logs, the models without optimizer state in 10 MiB parts.
set -u
T0=$(date +%s)
BUDGET=${BUDGET:-470}          # seconds from start until every run still going is stopped
EPOCHS=${EPOCHS:-60}           # epochs of runs b-e (a: 150, the paper's)
PY=${PY:-python3}
OUT=${OUT:-/tmp/gpu-out}
LOGS=/tmp/gpu-logs
rm -rf "$LOGS"; mkdir -p "$OUT" "$LOGS"   # a warm machine keeps /tmp between calls: this call's logs only
log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false KERAS_BACKEND=${KERAS_BACKEND:-jax}

if [ -d .whl ] && [ -z "${SKIP_WHEELS:-}" ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed"; exit 1; }
    export PYTHONPATH=/tmp/site
fi
nvidia-smi -L 2>/dev/null
$PY -c 'from ferlab import config; print("ferlab.config.machine():", config.machine())'
DATA=${DATA:-../shared/fer2013}
if [ -f .devdata/fer2013.tar.xz ] && [ ! -d "$DATA" ]; then
    [ -d /tmp/fer/fer2013/val ] || { mkdir -p /tmp/fer && tar xJf .devdata/fer2013.tar.xz -C /tmp/fer; } && DATA=/tmp/fer/fer2013
fi
smoke='import numpy as np, keras
keras.mixed_precision.set_global_policy("mixed_bfloat16")
m = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(8, 3), keras.layers.GlobalAveragePooling2D(),
                      keras.layers.Dense(7, activation="softmax", dtype="float32")])
m.compile("sgd", "categorical_crossentropy")
m.fit(np.zeros((64, 48, 48, 1), "float32"), np.eye(7, dtype="float32")[np.zeros(64, int)], verbose=0)
print("backend ok:", keras.backend.backend(), keras.__version__)'
$PY -c "$smoke" 2>"$LOGS/smoke-jax.txt" || { log "jax backend failed (see smoke-jax.txt); using torch"; export KERAS_BACKEND=torch; $PY -c "$smoke"; }
$PY -m ferlab data import "$DATA" --name fer2013 || exit 1
$PY -m ferlab data show fer2013 | head -5
log "data ready ($DATA)"

COMMON="--data fer2013 --precision mixed_bfloat16 --json"
RECIPE="--optimizer sgd --learning-rate 0.04 --schedule cosine --warmup-epochs 2 --weight-decay 0.0005 \
--label-smoothing 0.1 --batch-size 64 --epochs $EPOCHS"
declare -A PID
set -m   # without job control bash starts background commands with SIGINT ignored
launch() {
    local name=$1; shift
    echo "ferlab train $* $COMMON" > "$LOGS/$name.cmd"
    $PY -m ferlab train "$@" $COMMON > "$LOGS/$name.log" 2>&1 &
    PID[$name]=$!
    log "started $name (pid ${PID[$name]}): ferlab train $* $COMMON"
}
NAMES=${RUNS:-b c d e}
[ -n "${PAPER:-}" ] && NAMES="a $NAMES"
for n in $NAMES; do
    case $n in
        a) launch a --preset paper-8conv-adam --seed 1 --epochs 150 ;;
        b) launch b --preset ${PRESET_B:-paper-8conv-sgd} --seed ${SEED_B:-31} --augmentation ${AUG_B:-paper-erasing} $RECIPE ;;
        c) launch c --preset ${PRESET_C:-paper-5conv-adam} --seed ${SEED_C:-21} --augmentation ${AUG_C:-paper-erasing} $RECIPE ;;
        d) launch d --preset ${PRESET_D:-paper-5conv-adam} --seed ${SEED_D:-22} --augmentation ${AUG_D:-paper-erasing} $RECIPE ;;
        e) launch e --preset ${PRESET_E:-ferlab-compact} --seed ${SEED_E:-41} --augmentation ${AUG_E:-paper-erasing} $RECIPE ;;
        r[0-9]*) launch $n --resume ${n#r} ;;
        *) log "unknown run $n (RUNS takes a b c d e, or rN to resume job N)"; exit 2 ;;
    esac
done

# Seconds the slowest of b-e still needs, from its last two epochs in runs.db (epoch 1 holds the
# compilation, so it is left out); -1 while that is not known yet.
need='import json, sqlite3
c = sqlite3.connect("runs.db", timeout=30)
need = []
for tid, hp in c.execute("select id, hyperparameters from trials where status = ?", ("running",)).fetchall():
    hp = json.loads(hp)
    if hp.get("preset") != "paper-8conv-adam":
        rows = c.execute("select epoch, seconds from epochs where trial_id = ? and epoch >= 2 "
                         "order by epoch desc limit 2", (tid,)).fetchall()
        need.append((hp["epochs"] - rows[0][0]) * (rows[0][1] + rows[1][1]) / 2 if len(rows) == 2 else -1)
print(-1 if not need or -1 in need else int(max(need)))'
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
a_stopped=
while :; do
    sleep 10
    now=$(( $(date +%s) - T0 ))
    running=0; for n in $NAMES; do alive $n && running=$((running + 1)); done
    [ $running -eq 0 ] && break
    left=$($PY -c "$need" 2>/dev/null || echo -1)
    log "$running running; b-e need about ${left}s more; epochs $(for n in $NAMES; do echo -n "$n:$(grep -o 'Epoch [0-9]*/[0-9]*' $LOGS/$n.log | tail -1 | cut -d' ' -f2) "; done)"
    if [ -z "$a_stopped" ] && [ -n "${PAPER:-}" ] && alive a && [ "$left" -ge 0 ] && [ $(( now + left + 40 )) -gt "$BUDGET" ]; then
        log "stopping a so that b-e finish in time"; kill -INT "${PID[a]}"; a_stopped=1
    fi
    if [ "$now" -ge "$BUDGET" ]; then
        log "budget spent: stopping what still runs"
        for n in $NAMES; do alive $n && kill -INT "${PID[$n]}"; done
        sleep 20
        for n in $NAMES; do alive $n && kill -KILL "${PID[$n]}"; done
        break
    fi
done
wait
for n in $NAMES; do log "$n: $(tail -1 $LOGS/$n.log | cut -c1-400)"; done

# Back: this call's models (model.keras when a run completed, else best.keras; a warm machine still
# holds earlier calls' runs), then runs.db (WAL folded in) and the logs, last, so that they hold the
# ensemble below.
job_of() {     # the job number of run $1 (a-e) of this call, from its log
    grep -o -m1 'job [0-9]*' "$LOGS/$1.log" 2>/dev/null | cut -d' ' -f2
}
model_of() {   # the model file of run $1 (a-e) of this call, if it has one
    local dir=.ferlab/runs/job-$(job_of $1)
    if [ -f "$dir/model.keras" ]; then echo "$dir/model.keras"; elif [ -f "$dir/best.keras" ]; then echo "$dir/best.keras"; fi
}
rm -rf /tmp/models && mkdir -p /tmp/models
for n in $NAMES; do
    src=$(model_of $n)
    [ -n "$src" ] && cp "$src" "/tmp/models/$(basename "$(dirname "$src")")-$(basename "$src")"
done
# without the optimizer's state (as the shipped model): the same weights in a third of the bytes
$PY -c 'import sys; from ferlab.models.saved import load
for path in sys.argv[1:]:
    load(path, compile=False).save(path)' /tmp/models/*.keras
ls -la /tmp/models
# the paper-recipe run's model goes last, so the 64 MiB that may come back keep b-e's first
A_JOB=$(job_of a)
A_JOB=${A_JOB:-none}
(cd /tmp/models && others=$(ls | grep -v "^job-$A_JOB-"); [ -z "$others" ] || tar cf - $others | split -b 10M - "$OUT/models-bcd.tar.part-")
(cd /tmp/models && ls | grep -q "^job-$A_JOB-" && tar cf - job-$A_JOB-* | split -b 10M - "$OUT/models-a.tar.part-")

# ENSEMBLE=1: average b-e's models with `ferlab ensemble` here, where it takes seconds (a CPU takes
# minutes); its figures are in runs.db and ensemble.log, its model file stays here.
if [ -n "${ENSEMBLE:-}" ]; then
    members=$(for n in $NAMES; do [ "$n" = a ] || model_of $n; done)
    if [ "$(echo $members | wc -w)" -ge 2 ]; then
        log "ensemble of $(echo $members)"
        $PY -m ferlab ensemble $members --data fer2013 > "$LOGS/ensemble.log" 2>&1
        grep -E "^(member|job)" "$LOGS/ensemble.log"
    fi
fi
$PY -c 'import sqlite3; c = sqlite3.connect("runs.db"); c.execute("pragma wal_checkpoint(truncate)"); c.close()'
gzip -c runs.db > "$OUT/runs.db.gz"
tar czf "$OUT/logs.tgz" -C "$LOGS" .
ls -la "$OUT"
log "done"
