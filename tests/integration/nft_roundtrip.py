#!/usr/bin/env python3
"""nft_roundtrip.py: the listing round trip of a stack against the kernel.

usage: nft_roundtrip.py [--kernel-only] KERNEL_NFT STACK_NFT WORKDIR FILE.t...

KERNEL_NFT and STACK_NFT are programs that run the real nft with the
arguments they are given: against the kernel's nf_tables in a network
namespace of the caller's, and through `fragnet nft` against a stack
(test_nft_roundtrip.sh writes both).  WORKDIR takes the batch files.

A corpus file (tests/integration/nft_roundtrip/*.t) is read line by line;
'#' starts a comment line, blank lines are skipped:

  table FAMILY NAME [{ ... }]    a table; the lines below go into it
  chain NAME [{ ... }]           a chain of that table; rules below go into it
                                 (`chain NAME` again: back to that chain)
  set NAME { ... }               a named set (map NAME { ... }: a map)
  flowtable NAME { ... }         a flowtable (the test machine's kernel
                                 has none: not in the corpus)
  element add SET { ... }        `add element` to a set of the table
  element delete SET { ... }     `delete element`
  RULE                           a rule, appended to the chain: the kernel
                                 must list it as RULE
  RULE ;; LISTING                ... the kernel must list it as LISTING
  ~ RULE [;; LISTING]            a known difference: the stack lists it
                                 differently from the kernel (the comment
                                 above says why); counted as "known";
                                 also '~ - RULE', '~ $ nft ...'
  - RULE                         a rule both must refuse, with the same
                                 error (alone, after the listings: one nft
                                 call per side and line)
  $ nft ARGS...                  after the listings: `nft ARGS` on both
                                 sides, same output, errors and status
                                 (list chain, list set, -j, -t, -n...)
  commit                         the lines below go into another batch
                                 (the kernel finds no rule of its own
                                 batch by handle)
  > COMMAND                      any nft command, in the batch (insert,
                                 replace, delete, flush...); the rules of
                                 the chain above are then checked by the
                                 whole listing only

Per file: one batch (`flush ruleset`, then every line as an nft command)
with `nft -f` into the kernel, which must take all of it (else the corpus
is wrong: fail), and the same batch into the stack.  Whatever the stack
refuses (nft names the line) leaves the batch, which is sent again, until
the stack takes what is left; should an error name no line, every line
is sent alone.  Then `nft -a list ruleset` of both sides, compared object
by object: each table, chain header, set (with its elements) and rule the
stack took must be listed exactly as the kernel lists it, in the same
order, and nothing else may be listed; the kernel's rule listing must be
the corpus' (the round trip itself).  Handles (`# handle N`) are compared
too when the stack took the whole batch at once (a refused batch leaves
different handle counters).  Last, the whole `nft -a list ruleset` of
the stack must be the kernel's, handles included (tables' handles
excepted), the kernel loaded again with just what the stack took if it
refused anything.

Each line (an item) is one of:
  pass         listed identically on both sides ('-': refused by both;
               '$': the same output and status);
  unsupported  the stack refused it with EOPNOTSUPP ("Operation not
               supported"), and it is not listed; or it belongs to a
               chain or set that was refused so;
  known        a '~' line that differs as expected;
  fail         anything else: a different listing, a refusal other than
               EOPNOTSUPP, a line the kernel refuses or lists otherwise
               than the corpus says, a '~' line that no longer differs.
Prints a markdown table, a row per file (and, on stderr, a line per
fail, known difference and unsupported line with its reason); exit
status 1 if anything failed.

--kernel-only: only the kernel, print each rule whose listing differs
from its corpus line (to write the ';;' listings of a new corpus).
"""
import difflib
import os
import re
import shlex
import subprocess
import sys

EOPNOTSUPP = 'Operation not supported'
ERR = re.compile(r'^(?P<file>[^:\s]+):(?P<line>\d+):\d+(-\d+)?: Error: (?P<msg>.*)$')
HANDLE = re.compile(r' # handle (\d+)$')
MAX_TRIES = 40


class Item:
    """One corpus line that becomes one nft command."""

    def __init__(self, lineno, kind, cmd, family, table, name=None,
                 chain=None, text=None, expected=None, known=False):
        self.lineno = lineno
        self.kind = kind	# table chain set flowtable element rule
        self.cmd = cmd
        self.family = family
        self.table = table
        self.name = name	# chain / set / flowtable name, element's set
        self.chain = chain	# a rule's chain
        self.text = text	# a rule as written
        self.expected = expected if expected is not None else text
        self.known = known
        self.state = None	# None (taken), 'unsupported', 'fail'
        self.seg = 0		# which batch ('commit' lines split them)
        self.why = ''

    def key(self):
        return (self.family, self.table)


def parse_corpus(path):
    items = []
    chains = set()
    free = set()	# chains a '>' command changed
    seg = 0

    def add(it):
        it.seg = seg
        items.append(it)
    family = table = chain = None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            if line == 'commit':
                seg += 1
                continue
            word = line.split(None, 1)
            head, rest = word[0], (word[1] if len(word) > 1 else '')
            if head == 'table':
                w = rest.split(None, 2)
                family, table, chain = w[0], w[1], None
                add(Item(n, 'table', 'add table ' + rest, family, table))
                continue
            if table is None and head != 'table':
                raise SystemExit(f'{path}:{n}: no table before this line')
            known = line.startswith('~')
            if known:	# '~ RULE', '~ - RULE', '~ $ nft ...'
                line = line[1:].strip()
                head, _, rest = line.partition(' ')
            if line[0] in '>$' and head not in '>$':
                head, rest = line[0], line[1:].strip()
            pre = f'{family} {table}'
            if head == 'chain':
                chain = rest.split(None, 1)[0]
                if rest == chain and (family, table, chain) in chains:
                    continue	# back to a chain declared above
                chains.add((family, table, chain))
                add(Item(n, 'chain', f'add chain {pre} {rest}', family,
                         table, name=chain))
            elif head in ('set', 'map', 'flowtable'):
                name = rest.split(None, 1)[0]
                add(Item(n, 'flowtable' if head == 'flowtable' else 'set',
                         f'add {head} {pre} {rest}', family, table,
                         name=name))
            elif head == '$':
                if not rest.startswith('nft '):
                    raise SystemExit(f'{path}:{n}: $ nft ARGS...')
                add(Item(n, 'query', rest, family, table, text=rest,
                         known=known))
            elif head == '>':
                add(Item(n, 'cmd', rest, family, table, chain=chain,
                         text=rest))
                if chain is not None:
                    free.add((family, table, chain))
            elif head == 'element':
                op, rest2 = rest.split(None, 1)
                name = rest2.split(None, 1)[0]
                if op not in ('add', 'delete'):
                    raise SystemExit(f'{path}:{n}: element add|delete')
                add(Item(n, 'element', f'{op} element {pre} {rest2}',
                         family, table, name=name))
            else:
                if chain is None:
                    raise SystemExit(f'{path}:{n}: no chain before this rule')
                refused = line.startswith('- ')
                if refused:
                    line = line[1:].strip()
                text, _, expected = line.partition(' ;; ')
                add(Item(n, 'refused' if refused else 'rule',
                         f'add rule {pre} {chain} {text}', family, table,
                         chain=chain, text=text, expected=expected or None,
                         known=known))
    for it in items:
        it.free = it.kind == 'rule' and (it.family, it.table, it.chain) in free
    return items


def run(prog, args):
    p = subprocess.run([prog] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def load(prog, items, path):
    """nft -f a batch of ITEMS (one per segment, the first after a
    `flush ruleset`); {item: error message} of what it refused (None:
    errors that name no line of the batch), {} when it took it all."""
    refused, unnamed = {}, False
    segs = sorted({it.seg for it in items} | {0})
    for seg in segs:
        lines = {}
        name = f'{path}.{seg}' if seg else path
        with open(name, 'w') as f:
            n = 1
            if seg == 0:
                f.write('flush ruleset\n')
                n = 2
            for it in items:
                if it.seg == seg:
                    f.write(it.cmd + '\n')
                    lines[n] = it
                    n += 1
        rc, _, err = run(prog, ['-f', name])
        if rc == 0:
            continue
        named = False
        for line in err.splitlines():
            m = ERR.match(line)
            if m and int(m['line']) in lines:
                refused.setdefault(lines[int(m['line'])], m['msg'])
                named = True
            elif m:
                unnamed = True
        unnamed = unnamed or not named
    return None if unnamed else refused


def refuse(it, msg, items):
    """IT was refused with MSG: unsupported or fail; so is what needs it."""
    it.state = 'unsupported' if EOPNOTSUPP in msg else 'fail'
    it.why = f'refused: {msg}'
    for o in items:
        if o.state or o.key() != it.key():
            continue
        needs = (it.kind == 'table' or
                 (it.kind == 'chain' and o.kind in ('rule', 'cmd') and
                  o.chain == it.name) or
                 (it.kind == 'chain' and o.kind == 'rule' and
                  re.search(r'\b(jump|goto) ' + re.escape(it.name) + r'\b', o.text)) or
                 (it.kind == 'set' and o.kind == 'element' and o.name == it.name) or
                 (it.kind == 'set' and o.kind == 'rule' and
                  re.search('@' + re.escape(it.name) + r'\b', o.text)))
        if needs:
            o.state = it.state
            o.why = f'needs line {it.lineno}, {it.why}'


def load_stack(prog, items, path):
    """Into the stack, dropping what it refuses.  The number of tries."""
    for tries in range(1, MAX_TRIES + 1):
        live = [it for it in items if not it.state]
        refused = load(prog, live, path)
        if refused == {}:
            return tries
        if refused is None:
            break
        for it, msg in refused.items():
            if not it.state:
                refuse(it, msg, items)
    # Line by line: each command alone, after a flush.
    run(prog, ['flush', 'ruleset'])
    for it in items:
        if it.state:
            continue
        with open(path, 'w') as f:
            f.write(it.cmd + '\n')
        rc, _, err = run(prog, ['-f', path])
        if rc != 0:
            m = [ERR.match(x) for x in err.splitlines()]
            msg = next((x['msg'] for x in m if x), err.strip() or f'exit {rc}')
            refuse(it, msg, items)
    return 0


class Listing:
    """`nft -a list ruleset`, object by object."""

    def __init__(self, text):
        self.tables = {}	# (family, name) -> dict
        self.order = []		# table keys in order
        tab = obj = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if raw.startswith('table '):
                w = line.split()
                key = (w[1], w[2])
                tab = {'line': line, 'head': [], 'objs': {}, 'order': []}
                self.tables[key] = tab
                self.order.append(key)
                obj = None
            elif line == '}':
                if raw.startswith('\t\t') or not raw.startswith('\t'):
                    continue
                obj = None	# end of a chain / set at depth 1
            elif raw.startswith('\t') and not raw.startswith('\t\t'):
                w = line.split()
                if w[0] in ('chain', 'set', 'map', 'flowtable'):
                    obj = {'line': line, 'head': [], 'rules': [],
                           'kind': w[0]}
                    kind = 'chain' if w[0] == 'chain' else \
                        'flowtable' if w[0] == 'flowtable' else 'set'
                    tab['objs'][(kind, w[1])] = obj
                    tab['order'].append((kind, w[1]))
                else:
                    tab['head'].append(line)
            elif obj is not None:
                if obj['kind'] == 'chain' and not obj['rules'] and \
                        re.match(r'(type|comment|policy|devices) ', line):
                    obj['head'].append(line)
                elif obj['kind'] == 'chain':
                    obj['rules'].append(line)
                else:
                    obj['head'].append(line)


def strip(line):
    return HANDLE.sub('', line)


def handle(line):
    m = HANDLE.search(line)
    return m.group(1) if m else None


def expected_listing(items):
    """What the kernel's listing should hold: (table key) -> objects."""
    want = {}
    for it in items:
        want.setdefault(it.key(), []).append(it)
    return want


def compare(items, kl, sl, handles, problems):
    """Set each item's state from the two listings; PROBLEMS gets what
    belongs to no item."""
    def fail(it, why):
        if it.state != 'fail':
            it.state, it.why = 'fail', why

    for key, its in expected_listing(items).items():
        kt, st = kl.tables.get(key), sl.tables.get(key)
        tab_it = next(it for it in its if it.kind == 'table')
        if kt is None:	# deleted by a '>' command: on both sides?
            for it in its:
                if not it.state and st is not None:
                    fail(it, 'table deleted on the kernel only')
            continue
        if tab_it.state:
            if st is not None:
                problems.append(f'table {key} refused but listed')
            continue
        if st is None:
            for it in its:
                if not it.state:
                    fail(it, 'table not in the stack\'s listing')
            continue
        if (strip(kt['line']), kt['head']) != (strip(st['line']), st['head']):
            fail(tab_it, f'table: kernel {kt["head"]!r}, stack {st["head"]!r}')
        # Objects, in the kernel's order, without those the stack refused.
        refused = {(('set' if it.kind == 'set' else it.kind), it.name)
                   for it in its if it.state and it.kind in ('chain', 'set',
                                                            'flowtable')}
        korder = [o for o in kt['order'] if o not in refused]
        if korder != st['order']:
            problems.append(f'table {key}: objects {st["order"]} on the '
                            f'stack, {korder} on the kernel')
        for it in its:
            if it.kind in ('chain', 'set', 'flowtable'):
                okey = ('set' if it.kind == 'set' else it.kind, it.name)
                ko, so = kt['objs'].get(okey), st['objs'].get(okey)
                if ko is None:	# deleted by a '>' command
                    if so is not None:
                        fail(it, 'deleted on the kernel only')
                    continue
                if it.state:
                    continue
                if so is None:
                    fail(it, 'not in the stack\'s listing')
                    continue
                kh = [strip(ko['line'])] + ko['head']
                sh = [strip(so['line'])] + so['head']
                if kh != sh:
                    fail(it, f'listed as {sh!r}, kernel {kh!r}')
                elif handles and handle(ko['line']) != handle(so['line']):
                    fail(it, f'handle {handle(so["line"])}, kernel '
                         f'{handle(ko["line"])}')
            elif it.kind == 'element':
                okey = ('set', it.name)
                ko, so = kt['objs'].get(okey), st['objs'].get(okey)
                if it.state or ko is None or so is None:
                    continue
                if ko['head'] != so['head']:
                    fail(it, f'set {it.name} listed as {so["head"]!r}, '
                         f'kernel {ko["head"]!r}')
        # Rules, chain by chain: the kernel has them all, in corpus order.
        chains = {}
        for it in its:
            if it.kind == 'rule' and not it.free:
                chains.setdefault(it.chain, []).append(it)
        for chain, rules in chains.items():
            ko = kt['objs'].get(('chain', chain))
            so = st['objs'].get(('chain', chain))
            if ko is None or len(ko['rules']) != len(rules):
                for it in rules:
                    fail(it, f'corpus: chain {chain} of the kernel has '
                         f'{len(ko["rules"]) if ko else 0} rules, '
                         f'corpus {len(rules)}')
                continue
            taken = [it for it in rules if not it.state]
            if not taken:
                continue
            if so is None:
                continue	# the chain's own failure says it
            if len(so['rules']) != len(taken):
                problems.append(f'chain {key} {chain}: {len(so["rules"])} '
                                f'rules on the stack, {len(taken)} taken')
            sr = iter(so['rules'])
            for it, kline in zip(rules, ko['rules']):
                if strip(kline) != it.expected:
                    fail(it, f'corpus: the kernel lists {strip(kline)!r}')
                if it.state:
                    continue
                sline = next(sr, None)
                if sline is None:
                    fail(it, 'not in the stack\'s listing')
                elif strip(sline) != strip(kline):
                    if it.known:
                        it.state, it.why = 'known', \
                            f'stack {strip(sline)!r}, kernel {strip(kline)!r}'
                    else:
                        fail(it, f'stack {strip(sline)!r}, kernel '
                             f'{strip(kline)!r}')
                elif handles and handle(sline) != handle(kline):
                    fail(it, f'handle {handle(sline)}, kernel {handle(kline)}')
    for key in sl.order:
        if key not in kl.tables:
            problems.append(f'table {key} listed by the stack only')
    for it in items:
        if it.state is None:
            if it.known:
                it.state, it.why = 'fail', 'known difference: now identical'
            else:
                it.state = 'pass'


def table_handles(text):
    """TEXT without the tables' handles (plain and JSON listings) and
    the numbers of `nft -e`'s generation line (the genid counts every
    commit since boot, the pid is nft's own)."""
    text = re.sub(r'^(table .*) # handle \d+$', r'\1', text, flags=re.M)
    text = re.sub(r'^# new generation \d+ by process \d+ ',
                  '# new generation N by process P ', text, flags=re.M)
    return re.sub(r'(\{"table": \{"family": "\w+", "name": "[^"]*"), '
                  r'"handle": \d+', r'\1', text)


def whole_listing(kout, sout, problems):
    """The stack's `nft -a list ruleset` is the kernel's, but for the
    tables' handles (a ruleset-wide counter: a batch the stack refused
    moved the kernel's, not the stack's)."""
    k, s = table_handles(kout).splitlines(), table_handles(sout).splitlines()
    if k != s:
        diff = list(difflib.unified_diff(k, s, 'kernel', 'stack', n=1,
                                         lineterm=''))
        problems.append('`nft -a list ruleset` differs from the kernel\'s:\n'
                        + '\n'.join(diff[:40]))


def check_query(knft, snft, it):
    """A '$ nft ARGS' line: the same output and status on both sides."""
    args = shlex.split(it.text)[1:]
    rk, kout, kerr = run(knft, args)
    rs, sout, serr = run(snft, args)
    kout, sout = table_handles(kout), table_handles(sout)
    if (rk, kout, kerr) == (rs, sout, serr):
        it.state = 'pass'
        return
    diff = list(difflib.unified_diff((kout + kerr).splitlines(),
                                     (sout + serr).splitlines(),
                                     'kernel', 'stack', n=1, lineterm=''))
    it.state, it.why = 'fail', (f'exit {rs}, kernel {rk}\n'
                                + '\n'.join(diff[:30]))


def check_refused(knft, snft, it):
    """A '-' line: both sides must refuse it."""
    args = ['add', 'rule', it.family, it.table, it.chain] + [it.text]
    rk, _, kerr = run(knft, args)
    rs, _, serr = run(snft, args)
    if rk == 0:
        it.state, it.why = 'fail', 'corpus: the kernel took it'
    elif rs == 0:
        it.state, it.why = 'fail', 'the stack took it, the kernel refuses it'
    elif kerr != serr:
        it.state, it.why = 'fail', f'stack: {serr.strip()}; kernel: {kerr.strip()}'
    else:
        it.state = 'pass'


def kernel_only(knft, work, files):
    for path in files:
        items = [it for it in parse_corpus(path)
                 if it.kind not in ('refused', 'query')]
        refused = load(knft, items, os.path.join(work, 'batch.nft'))
        for it, msg in (refused or {}).items():
            print(f'{path}:{it.lineno}: the kernel refused: {msg}')
        if refused is None:
            print(f'{path}: the kernel refused the batch')
        rc, out, err = run(knft, ['list', 'ruleset'])
        kl = Listing(out)
        for it in items:
            if it.kind != 'rule' or it.free:
                continue
            ko = kl.tables.get(it.key(), {'objs': {}})['objs'].get(('chain', it.chain))
            rules = [r for r in items if r.kind == 'rule' and r.key() == it.key()
                     and r.chain == it.chain]
            if ko is None or len(ko['rules']) != len(rules):
                continue
            kline = ko['rules'][rules.index(it)]
            if kline != it.expected:
                print(f'{path}:{it.lineno}: {it.text} ;; {kline}')


def main(argv):
    if argv and argv[0] == '--kernel-only':
        kernel_only(argv[1], argv[3], argv[4:])
        return 0
    knft, snft, work, files = argv[0], argv[1], argv[2], argv[3:]
    rows, total_fail = [], 0
    for path in files:
        name = os.path.basename(path)
        every = parse_corpus(path)
        items = [it for it in every if it.kind not in ('refused', 'query')]
        batch = os.path.join(work, name + '.nft')
        problems = []
        refused = load(knft, items, batch)
        if refused is None:
            problems.append('the kernel refused the batch, no line named')
        for it, msg in (refused or {}).items():
            it.state, it.why = 'fail', f'corpus: the kernel refused: {msg}'
        if any(it.state for it in items):	# the rest, for the others' sake
            load(knft, [it for it in items if not it.state], batch)
        tries = load_stack(snft, items, batch)
        taken = [it for it in items if not it.state]
        rc1, kout, kerr = run(knft, ['-a', 'list', 'ruleset'])
        rc2, sout, serr = run(snft, ['-a', 'list', 'ruleset'])
        if rc1 or rc2:
            problems.append(f'list ruleset: kernel {kerr.strip()}, '
                            f'stack {serr.strip()}')
        compare(items, Listing(kout), Listing(sout), tries == 1, problems)
        # The whole listing, handles included: the kernel with just what
        # the stack took, if it refused anything.
        if len(taken) < len(items):
            load(knft, taken, batch)
            rc1, kout, kerr = run(knft, ['-a', 'list', 'ruleset'])
        whole_listing(kout, sout, problems)
        for it in every:
            if it.kind == 'refused':
                check_refused(knft, snft, it)
        for it in every:
            if it.kind == 'query':
                check_query(knft, snft, it)
        for it in every:	# '~ -' and '~ $' lines
            if it.known and it.kind in ('refused', 'query'):
                it.state = 'known' if it.state == 'fail' else 'fail'
                it.why = it.why or 'known difference: now identical'
        items = every
        count = {k: 0 for k in ('pass', 'fail', 'unsupported', 'known')}
        for it in items:
            count[it.state] += 1
            if it.state in ('fail', 'known', 'unsupported'):
                what = it.text if it.kind in ('rule', 'refused') else it.cmd
                print(f'{it.state.upper()}: {path}:{it.lineno}: {what}: '
                      f'{it.why}', file=sys.stderr)
        for p in problems:
            print(f'FAIL: {path}: {p}', file=sys.stderr)
        count['fail'] += len(problems)
        total_fail += count['fail']
        unsup = sorted({it.lineno for it in items if it.state == 'unsupported'})
        print(f'# {name}: {len(items)} lines, stack batches: '
              f'{tries if tries else "line by line"}, unsupported lines: '
              f'{unsup}', file=sys.stderr)
        rows.append((name, len(items), count))
    print('| file | lines | pass | fail | unsupported | known |')
    print('|---|---:|---:|---:|---:|---:|')
    tot = {k: 0 for k in ('pass', 'fail', 'unsupported', 'known')}
    n = 0
    for name, lines, c in rows:
        print(f'| {name} | {lines} | {c["pass"]} | {c["fail"]} | '
              f'{c["unsupported"]} | {c["known"]} |')
        n += lines
        for k in tot:
            tot[k] += c[k]
    print(f'| all | {n} | {tot["pass"]} | {tot["fail"]} | '
          f'{tot["unsupported"]} | {tot["known"]} |')
    return 1 if total_fail else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
