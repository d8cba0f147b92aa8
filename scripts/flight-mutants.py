#!/usr/bin/env python3
"""Mutants of single flight: proof that its unit tests can fail.

Each row breaks one branch of filter/flight.go, flighthost.go or singleflight.go (an
inverted condition, a dropped call), runs the single-flight unit tests against that copy,
and prints which tests failed. Exit status 1 when a mutant outside EQUIVALENT survives, or a
row's text is no longer in the code (the code changed: update the row).

Works on a copy of the tree (tracked and untracked, not ignored, files) in a temporary
directory; the checkout is never touched. Slow: one compile of filter/'s tests per row.

Usage: python3 scripts/flight-mutants.py [row numbers...]
"""
import os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = "TestFlight|TestSlotStore|TestClaim|TestTakeover|TestPark|TestJoin|TestWaiter"

# (file in filter/, branch, text, replacement)
M=[
("flight.go","join: a known unparked flight: wait","if f.state != flightParked {\n\t\t\tfl.wait","if f.state == flightParked {\n\t\t\tfl.wait"),
("flight.go","join: waited vs waited_remote","if f.leads() {\n\t\t\t\tcount","if !f.leads() {\n\t\t\t\tcount"),
("flight.go","join: parked result still live","if now.Before(f.until) {\n\t\t\treturn cont(f.res, false)","if false {\n\t\t\treturn cont(f.res, false)"),
("flight.go","join: shared data down: lead alone","\t\tclaimed = true\n","\t\tclaimed = false\n"),
("flight.go","join: record holds a result","case e != nil && e.State == engine.EntryResult:","case false:"),
("flight.go","join: another VM's lease: poll","case !claimed:","case !claimed && false:"),
("flight.go","join: polling counts waited_remote","\t\tcount(spec.counters, \"waited_remote\")\n\t\tfl.setFast(true)","\t\tfl.setFast(true)"),
("flight.go","join: polling sets fast ticks","\t\tfl.setFast(true)\n\t\treturn","\t\treturn"),
("flight.go","join: answered inside join","if f.state == flightParked { // answered at once","if false { // answered at once"),
("flight.go","unwait: drop the waiter","\t\t\tf.waiters = append(f.waiters[:i], f.waiters[i+1:]...)\n","\t\t\t_ = i\n"),
("flight.go","unwait: forget a polled flight nobody waits for","if f.state == flightPolling && len(f.waiters) == 0 {","if len(f.waiters) == 0 {"),
("flight.go","run: only a queued flight runs","if f.state != flightQueued {\n\t\treturn\n\t}\n\tf.state = flightLeading","f.state = flightLeading"),
("flight.go","finish: once","if f.state == flightParked {\n\t\treturn\n\t}\n\tnow := fl.p.now()","now := fl.p.now()"),
("flight.go","finish: park at least minPark","keep = max(keep, minPark)","keep = max(keep, 0)"),
("flight.go","finish: no payload for a failure","if res.status != engine.FlightOK {\n\t\tpayload = nil\n\t}",""),
("flight.go","finish: park in shared data","if err := f.spec.store.put(e, now); err != nil {","if err := error(nil); err != nil || e == nil {"),
("flight.go","finish: a late answer parked here again","if fl.byKey[f.key] == nil { // answered","if false { // answered"),
("flight.go","finish: wake","\tfl.wake(f, res)\n}\n\n// giveUp","}\n\n// giveUp"),
("flight.go","giveUp: forget the flight","\tdelete(fl.byKey, f.key)\n\tfl.wake(f, &flightResult{status: engine.FlightTransient","\tfl.wake(f, &flightResult{status: engine.FlightTransient"),
("flight.go","decode: a payload that does not open","if err != nil {\n\t\t\treturn &flightResult{status: engine.FlightTransient, err: err}","if false {\n\t\t\treturn &flightResult{status: engine.FlightTransient, err: err}"),
("flight.go","tick: queued -> run","\t\tcase flightQueued:\n\t\t\tfl.run(f)\n","\t\tcase flightQueued:\n"),
("flight.go","tick: leading past patience gives up","\t\t\tif now.After(f.until) {\n\t\t\t\tfl.giveUp(f, \"filter: no answer in time\")","\t\t\tif !now.After(f.until) {\n\t\t\t\tfl.giveUp(f, \"filter: no answer in time\")"),
("flight.go","tick: polling finds the result","case err == nil && e != nil && e.State == engine.EntryResult:","case false:"),
("flight.go","tick: polling takes over an expired lease","case err == nil && claimed:","case err == nil && claimed && false:"),
("flight.go","tick: takeover runs the call","\t\t\tf.state, f.until = flightQueued, now.Add(fl.patience(f.spec))\n\t\t\tfl.run(f)","\t\t\tf.state, f.until = flightQueued, now.Add(fl.patience(f.spec))"),
("flight.go","tick: polling past patience gives up","\t\tcase now.After(f.until):\n","\t\tcase !now.After(f.until):\n"),
("flight.go","tick: keep fast ticks while polling","\t\t\tremote = true\n","\t\t\tremote = false\n"),
("flight.go","tick: sweep every 5 s","if now.Sub(fl.lastSweep) > 5*time.Second {","if now.Sub(fl.lastSweep) > 0 {"),
("flight.go","pending: parked flights are not pending","if f.state != flightParked {\n\t\t\tout","if true {\n\t\t\tout"),
("flight.go","sweep: expired results","(!now.Before(f.until) || full","(false || full"),
("flight.go","sweep: a full map drops parked results","|| full && len(fl.byKey) >= fl.max/2)","|| false)"),
("flight.go","patience: 2 leases + 1 s","return 2*spec.lease + time.Second","return 2 * spec.lease"),
("flighthost.go","hop: through the queue","if fl.queue != 0 {\n\t\terr := proxywasm.EnqueueSharedQueue","if false {\n\t\terr := proxywasm.EnqueueSharedQueue"),
("flighthost.go","hop: queue refused: run from the request","logAt(levelWarn, \"shared queue failed, sending from the request\", \"kind\", f.spec.kind, \"err\", err)\n\t}\n\tfl.run(f)","logAt(levelWarn, \"shared queue failed, sending from the request\", \"kind\", f.spec.kind, \"err\", err)\n\t\treturn\n\t}\n\tfl.run(f)"),
("flighthost.go","onQueueReady: only this VM's queue","if queueID != fl.queue {\n\t\treturn","if false {\n\t\treturn"),
("flighthost.go","onQueueReady: an item is a key","if len(item) != len(k) {\n\t\t\tcontinue","if len(item) < len(k) {\n\t\t\tcontinue"),
("flighthost.go","wake: a waiter that left is skipped","if k, ok := fl.byCtx[w.ctxID]; !ok || k != f.key {\n\t\t\tcontinue","if false {\n\t\t\tcontinue"),
("flighthost.go","wake: resume only on Continue","if w.cont(res, true) == types.ActionContinue {","if act := w.cont(res, true); act == types.ActionContinue || act != types.ActionContinue {"),
("flighthost.go","wake: back to the root context","_ = proxywasm.SetEffectiveContext(fl.p.contextID)",""),
("flighthost.go","setFast: the fast period","period := tickPeriod\n\tif on {","period := tickPeriod\n\tif !on {"),
("singleflight.go","claim: a live entry is not overwritten","\t\tif e != nil {\n\t\t\treturn nil\n\t\t}","\t\tif false {\n\t\t\treturn nil\n\t\t}"),
("singleflight.go","claim: the lease's expiry","Exp: now.Add(lease)}","Exp: now.Add(lease * 100)}"),
("singleflight.go","claim: claimed only when there was none","cur, claimed = e, e == nil","cur, claimed = e, true"),
]

# Mutants no test can tell from the code: wake's check that a waiter is still noted as waiting
# for this flight is implied by unwait, which always removes a request from both byCtx and
# its flight's waiters (a defensive check, kept).
EQUIVALENT = {37}


def main():
    only = {int(a) for a in sys.argv[1:]}
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="flight-mutants-") as tmp:
        for f in files:
            if f and os.path.isfile(os.path.join(ROOT, f)):
                os.makedirs(os.path.dirname(os.path.join(tmp, f)), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, f), os.path.join(tmp, f))
        for i, (name, branch, old, new) in enumerate(M, 1):
            if only and i not in only:
                continue
            path = os.path.join(tmp, "filter", name)
            src = open(path).read()
            if src.count(old) != 1:
                print(f"M{i}\t{name}\t{branch}\tTEXT NOT FOUND ({src.count(old)} times)", flush=True)
                bad += 1
                continue
            open(path, "w").write(src.replace(old, new))
            try:
                r = subprocess.run(["go", "test", "./filter", "-run", TESTS, "-count=1"], cwd=tmp,
                                   capture_output=True, text=True, timeout=600)
            finally:
                open(path, "w").write(src)
            out = r.stdout + r.stderr
            failed = sorted(set(re.findall(r"--- FAIL: (\w+)", out)))
            if r.returncode == 0:
                verdict = "survived (equivalent)" if i in EQUIVALENT else "SURVIVED"
                bad += i not in EQUIVALENT
            elif failed:
                verdict = " ".join(failed)
            else:
                verdict = "DID NOT BUILD: " + (re.findall(r".*\.go:\d+:\d+: .*", out) or ["?"])[0]
                bad += 1
            print(f"M{i}\t{name}\t{branch}\t{verdict}", flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
