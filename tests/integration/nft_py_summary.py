#!/usr/bin/env python3
"""nft_py_summary.py: per-file pass / fail / unsupported of nftables' tests/py.

usage: nft_py_summary.py TESTS_PY_DIR RESULTS_DIR FILE.t...

For every FILE.t (relative to TESTS_PY_DIR, e.g. ip/tcp.t), RESULTS_DIR
holds what one `nft-test.py -H -N FILE.t` run left: FILE.stderr (its
ERROR/WARNING lines, "FILE: ERROR: line N: REASON") and FILE.log (its log:
"command: CMD" lines, each followed by nft's error text, if any).

Every test line of the file (a rule, "!" set, "?" elements, "%" object;
not "-" lines, which nft-test.py skips) is one test:
  pass         no ERROR/WARNING names its line;
  unsupported  the stack refused it (or the chain it needs) with
               EOPNOTSUPP: "Operation not supported" in nft's error text;
  fail         anything else: a listing that does not round-trip, a rule
               the kernel would refuse but the stack took, another error;
               and "line 0" (nft-test.py crashed or hung) counts as one.
Prints a markdown table; exit status 1 if any test failed.
"""
import os
import re
import sys

MSG = re.compile(r'^(?P<file>\S+): (?P<kind>ERROR|WARNING): line (?P<line>\d+): (?P<reason>.*)$')
EOPNOTSUPP = 'Operation not supported'


def test_lines(path):
    """Line numbers (1-based, as nft-test.py prints them) of the tests."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line[0] in '#*:-':
                continue
            if line[0] in '!?%':
                out.append(n)
                continue
            parts = line.split(';')
            if 2 <= len(parts) <= 3 and parts[1].strip() in ('ok', 'fail'):
                out.append(n)
    return out


def command_errors(log_path):
    """{command: error text of its last run} from an nft-test.py log."""
    errs, cmd, text = {}, None, []
    try:
        f = open(log_path, errors='replace')
    except OSError:
        return errs
    with f:
        for line in f:
            if line.startswith('command: '):
                if cmd is not None:
                    errs[cmd] = ''.join(text)
                cmd, text = line[len('command: '):].rstrip('\n'), []
            else:
                text.append(line)
    if cmd is not None:
        errs[cmd] = ''.join(text)
    return errs


def classify(tdir, rdir, name):
    base = os.path.join(rdir, name.replace('/', '_'))
    tests = test_lines(os.path.join(tdir, name))
    errs = command_errors(base + '.log')
    # A chain or table the stack refused: every rule in it is unsupported.
    chain_refused = any(c.startswith(('add chain', 'add table')) and EOPNOTSUPP in e
                        for c, e in errs.items())
    msgs = {}
    try:
        with open(base + '.stderr', errors='replace') as f:
            for line in f:
                m = MSG.match(line.rstrip('\n'))
                if m and m.group('file') == name:
                    msgs.setdefault(int(m.group('line')), []).append(m.group('reason'))
    except OSError:
        pass
    res = {'pass': 0, 'fail': 0, 'unsupported': 0}
    failed = []
    for n in tests:
        reasons = msgs.get(n)
        if not reasons:
            res['pass'] += 1
            continue
        unsup = False
        for r in reasons:
            # "add rule ip test-ip4 input RULE: This rule should not have failed."
            # "add set ... { ... }: I cannot add the set NAME"
            for cmd, e in errs.items():
                if r.startswith(cmd + ':') and (EOPNOTSUPP in e or
                        (chain_refused and 'No such file or directory' in e)):
                    unsup = True
        if unsup and all('should have failed' not in r and 'mismatches' not in r
                         and 'Listing is broken' not in r for r in reasons):
            res['unsupported'] += 1
        else:
            res['fail'] += 1
            failed.append((n, reasons[0]))
    # Line 0: nft-test.py itself crashed or hung (the test script says so).
    for r in msgs.get(0, []):
        res['fail'] += 1
        failed.append((0, r))
    return res, failed


def main(argv):
    if len(argv) < 3 or argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ('-h', '--help') else 2
    tdir, rdir, files = argv[1], argv[2], argv[3:]
    total = {'pass': 0, 'fail': 0, 'unsupported': 0}
    details = []
    print('| file | pass | fail | unsupported |')
    print('|---|---:|---:|---:|')
    for name in files:
        res, failed = classify(tdir, rdir, name)
        for k in total:
            total[k] += res[k]
        print('| %s | %d | %d | %d |' % (name, res['pass'], res['fail'], res['unsupported']))
        details += [(name, n, r) for n, r in failed]
    print('| **total** (%d files) | %d | %d | %d |' % (
        len(files), total['pass'], total['fail'], total['unsupported']))
    for name, n, r in details:
        print('FAIL %s:%d: %s' % (name, n, r), file=sys.stderr)
    return 1 if total['fail'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
