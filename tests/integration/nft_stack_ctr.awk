# nft_stack_ctr.awk - the rule counters of an `nft list ruleset` listing,
# one line each: "TABLE CHAIN #N packets P bytes B | RULE", where N counts
# the chain's counters and RULE is the rule's text before its counter
# (handles and set contents left out), so that the listings of a fragnet
# stack and of the kernel compare with diff (test_nft_stack_diff.sh).
# Bytes are left out ("-") on the output and postrouting hooks: what a
# stack sends is lwIP's answer, whose size is lwIP's choice (ICMP errors
# quote 28 bytes where Linux quotes up to 576, an echo reply keeps the
# request's IP options).
# Named counters and quotas (issue 16) are one line each too: "TABLE
# counter NAME packets P bytes B", "TABLE quota NAME Q bytes used U
# bytes" (their rules' hooks are prerouting and input only).
/^table / { table = $2 " " $3; next }
/^\t(counter|quota) [^ ]+ \{/ { obj = $1 " " $2; next }
/^\t\}/ { obj = "" }
obj != "" && /^\t\t/ {
	line = $0
	sub(/^[ \t]+/, "", line)
	printf "%s %s %s\n", table, obj, line
	next
}
/^\tchain / { chain = $2; n = 0; hook = ""; next }
/^\t\ttype [a-z]+ hook [a-z]+/ { hook = $4 }
/counter packets [0-9]+ bytes [0-9]+/ {
	line = $0
	sub(/^[ \t]+/, "", line)
	sub(/ # handle [0-9]+$/, "", line)
	match(line, /counter packets [0-9]+ bytes [0-9]+/)
	split(substr(line, RSTART, RLENGTH), c, " ")
	rule = substr(line, 1, RSTART - 1)
	if (hook == "output" || hook == "postrouting")
		c[5] = "-"
	printf "%s %s #%d packets %s bytes %s | %s\n", table, chain, ++n, c[3], c[5], rule
}
