#!/usr/bin/env python3
"""compare.py KERNEL FRAGNET KNOWN - compare two fn-fidelity transcripts
scenario by scenario (tests/fidelity/README.md).

KNOWN lists the known differences, one "name: reason" a line ('#'
comments).  Prints each difference (a unified diff, kernel first) and
"fidelity: N scenarios, M match, K known differences"; exits 1 on a
difference not in KNOWN, on a known one that now matches (take it off the
list), or on a scenario missing from either transcript."""
import difflib, sys


def load(path):
    runs, order = {}, []
    with open(path) as f:
        for line in f:
            name, sep, rest = line.rstrip("\n").partition("| ")
            if not sep:
                continue
            if name not in runs:
                runs[name] = []
                order.append(name)
            runs[name].append(rest)
    return runs, order


def known(path):
    k = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(":")
                k[name.strip()] = reason.strip()
    return k


kern, order = load(sys.argv[1])
frag, _ = load(sys.argv[2])
kd = known(sys.argv[3])
match, knowns, bad = 0, [], []
for name in order:
    if name not in frag:
        bad.append(name)
        print("%s: missing from the fragnet run" % name)
        continue
    if kern[name] == frag[name]:
        match += 1
        if name in kd:
            bad.append(name)
            print("%s: listed as a known difference but matches now" % name)
        continue
    diff = "\n".join(difflib.unified_diff(kern[name], frag[name], "kernel",
                                          "fragnet", lineterm="", n=1))
    if name in kd:
        knowns.append(name)
        print("known difference %s (%s):\n%s" % (name, kd[name], diff))
    else:
        bad.append(name)
        print("DIFFERENCE %s:\n%s" % (name, diff))
for name in frag:
    if name not in kern and name != "-":
        bad.append(name)
        print("%s: missing from the kernel run" % name)
print("fidelity: %d scenarios, %d match, %d known differences%s" %
      (len(order), match, len(knowns),
       ", %d failing: %s" % (len(bad), " ".join(bad)) if bad else ""))
sys.exit(1 if bad else 0)
