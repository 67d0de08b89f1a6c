# Sourced by scripts/toy/evaluate and compare-methods: runs evaluations JOBS at a time.
# The caller sets `jobs` (1: in the foreground, one after another), `work` (its output folder) and
# `script` (its name, for messages). `launch OUT COMMAND...` runs `COMMAND --out OUT` (a `focus eval`)
# with its stdout discarded; when jobs > 1 it runs in the background, at most `jobs` at once, with its progress and messages in
# OUT.log so that parallel progress bars do not mix. `finish` waits for every launched command and
# exits 1 if any failed, so that a crashed run never leaves a silently short table.

launch() {
    local out=$1; shift
    if [ "$jobs" -le 1 ]; then
        "$@" --out "$out" > /dev/null
        return
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    { "$@" --out "$out" > /dev/null 2> "$out.log" ||
        { echo "$script: the evaluation into $out failed: $(tr '\r' '\n' < "$out.log" | tail -n 2)" >&2
          touch "$work/.failed"; }; } &
}

finish() {
    wait
    [ ! -e "$work/.failed" ] || { echo "$script: an evaluation failed (see above)" >&2; exit 1; }
}
