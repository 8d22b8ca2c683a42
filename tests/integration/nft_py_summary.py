#!/usr/bin/env python3
"""nft_py_summary.py: per-file pass / fail / unsupported of nftables' tests/py.

usage: nft_py_summary.py [--kernel KERNEL_DIR] TESTS_PY_DIR RESULTS_DIR FILE.t...

For every FILE.t (relative to TESTS_PY_DIR, e.g. ip/tcp.t), RESULTS_DIR
holds what one `nft-test.py -H -N FILE.t` run left: FILE.stderr (its
ERROR/WARNING lines, "FILE: ERROR: line N: REASON") and FILE.log (its log:
"command: CMD" lines, each followed by nft's error text, if any), with
FILE = the path with '/' turned into '_'.

Every test line of the file (a rule "RULE;ok|fail[;LISTING]", a "!" set,
"?" elements, a "%" object; not the "-" lines nft-test.py skips) is one:
  not run      no command of the log carries it (nft-test.py gave up on
               the file before it, e.g. on a table it could not create);
  pass         it ran and no ERROR/WARNING names its line;
  unsupported  the stack refused it with EOPNOTSUPP ("Operation not
               supported" in nft's error text), or it found no such
               object (ENOENT) after the stack refused a table, chain or
               set that way (a dynamic set, an egress chain...);
  kernel too   not unsupported, it failed on the stack, and KERNEL_DIR (the same files run
               by nft-test.py against the kernel's nf_tables, in a network
               namespace of its own) has the very same complaint on the
               same line: the corpus is older than the kernel (nftables
               1.0.6's any/limit.t expects byte rates that kernels with
               the nft_limit overflow checks refuse with EOVERFLOW), and
               the stack agrees with the kernel, which is the reference;
  fail         anything else: a listing that does not round-trip, a rule
               the kernel refuses but the stack took, another error.
"I cannot add an element to the set NAME since it does not exist" (nft-
test.py's own words, no command) is unsupported when the stack refused
set NAME with EOPNOTSUPP (a set with timeouts, say).
An ERROR on a line that is no test (a table or chain line, or the cleanup
at the end) is one more fail, unless the stack refused some table, chain
or set with EOPNOTSUPP (then nft-test.py's complaints about it are
expected). nft-test.py crashing or hanging (the test script writes it as
"line 0") is one more fail. Prints a markdown table and, on stderr, one
line per fail; exit status 1 if anything failed.
"""
import os
import re
import sys

MSG = re.compile(r'^(?P<file>\S+): (?P<kind>ERROR|WARNING): line (?P<line>\d+): (?P<reason>.*)$')
EOPNOTSUPP = 'Operation not supported'
ENOENT = 'No such file or directory'
KINDS = ('pass', 'fail', 'unsupported', 'kernel too', 'not run')
NO_SET = re.compile(r'^I cannot add an element to the set (\S+) since it does not exist')


def test_lines(path):
    """{line number (1-based, as nft-test.py prints them): (kind, key)}"""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line[0] in '#*:-':
                continue
            body = line.rstrip('\n')
            if line[0] in '!?%':
                # "!NAME type ...", "?NAME elem,...", "%NAME type ..."
                out[n] = (line[0], body[1:].split(';')[0].split(' ')[0])
                continue
            parts = body.split(';')
            if 2 <= len(parts) <= 3 and parts[1].strip() in ('ok', 'fail'):
                out[n] = ('rule', parts[0])
    return out


def command_log(log_path):
    """[(command, nft's error text)] of an nft-test.py log, in order."""
    cmds = []
    try:
        f = open(log_path, errors='replace')
    except OSError:
        return cmds
    with f:
        for line in f:
            if line.startswith('command: '):
                cmds.append([line[len('command: '):].rstrip('\n'), ''])
            elif cmds:
                cmds[-1][1] += line
    return cmds


def ran(kind, key, cmds):
    """Did nft-test.py run this test line (some command carries it)?"""
    for c, _ in cmds:
        if kind == 'rule':
            if c.startswith('add rule ') and c.endswith(' ' + key):
                return True
        elif kind == '!':
            if c.startswith('add set ') and (' %s {' % key) in c:
                return True
        elif kind == '?':
            if c.startswith('add element ') and (' %s {' % key) in c:
                return True
        elif c.startswith('add ') and (' %s' % key) in c:
            return True
    return False


def messages(base, name):
    """{line: [reason, ...]} of one run's FILE.stderr"""
    msgs = {}
    try:
        with open(base + '.stderr', errors='replace') as f:
            for line in f:
                m = MSG.match(line.rstrip('\n'))
                if m and m.group('file') == name:
                    msgs.setdefault(int(m.group('line')), []).append(m.group('reason'))
    except OSError:
        pass
    return msgs


def refused_by_stack(r, cmds, refused):
    """Is complaint r about a command the stack refused as unsupported?"""
    for c, e in cmds:
        if r.startswith(c + ':') and (EOPNOTSUPP in e or (refused and ENOENT in e)):
            return True
    m = NO_SET.match(r)
    return bool(m) and any(c.startswith('add set ') and (' %s {' % m.group(1)) in c
                           and EOPNOTSUPP in e for c, e in cmds)


def verdict(reasons, cmds, refused, kernel):
    """unsupported, kernel too or fail, for a test line with complaints"""
    if any(refused_by_stack(r, cmds, refused) for r in reasons) and \
            all('should have failed' not in r and 'mismatches' not in r
                and 'Listing is broken' not in r for r in reasons):
        return 'unsupported'
    if kernel is not None and sorted(reasons) == sorted(kernel):
        return 'kernel too'
    return 'fail'


def classify(tdir, rdir, name, kdir=None):
    base = os.path.join(rdir, name.replace('/', '_'))
    tests = test_lines(os.path.join(tdir, name))
    cmds = command_log(base + '.log')
    refused = any(c.startswith(('add chain', 'add table', 'add set')) and EOPNOTSUPP in e
                  for c, e in cmds)
    msgs = messages(base, name)
    kmsgs = messages(os.path.join(kdir, name.replace('/', '_')), name) if kdir else {}
    res = dict.fromkeys(KINDS, 0)
    failed = []
    for n, (kind, key) in sorted(tests.items()):
        reasons = msgs.get(n)
        if reasons and refused:
            # the cleanup at the end complains at the last line it read
            reasons = [r for r in reasons if not (r.startswith('The chain ') and
                                                  r.endswith('I cannot delete it.'))]
        if not reasons:
            res['pass' if ran(kind, key, cmds) else 'not run'] += 1
            continue
        v = verdict(reasons, cmds, refused, kmsgs.get(n) if kdir else None)
        res[v] += 1
        if v == 'fail':
            failed.append((n, reasons[0]))
    for n, reasons in sorted(msgs.items()):
        if n in tests:
            continue
        if n == 0 or not refused:
            res['fail'] += 1
            failed.append((n, reasons[0]))
    return res, failed


def main(argv):
    if len(argv) > 1 and argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0
    kdir = None
    if len(argv) > 2 and argv[1] == '--kernel':
        kdir = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tdir, rdir, files = argv[1], argv[2], argv[3:]
    total = dict.fromkeys(KINDS, 0)
    details = []
    print('| file | ' + ' | '.join(KINDS) + ' |')
    print('|---|' + '---:|' * len(KINDS))
    for name in files:
        res, failed = classify(tdir, rdir, name, kdir)
        for k in KINDS:
            total[k] += res[k]
        print('| %s | %s |' % (name, ' | '.join(str(res[k]) for k in KINDS)))
        details += [(name, n, r) for n, r in failed]
    print('| **total** (%d files) | %s |' % (
        len(files), ' | '.join(str(total[k]) for k in KINDS)))
    for name, n, r in details:
        print('FAIL %s:%d: %s' % (name, n, r), file=sys.stderr)
    return 1 if total['fail'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
